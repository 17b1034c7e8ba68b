import t from 'tap'
import { getHeapSpaceStatistics } from 'node:v8'
import { Worker } from 'node:worker_threads'
import { readFileSync } from 'node:fs'
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { startFlags } from '../bench/stages/services.js'
import { ENGINE_NODE_FLAGS, SEMI_SPACE_MB, tuneThreadHeaps } from '../src/heap-tuning.js'

// The engine raises V8's initial old space and caps the semi-spaces for its threads unless Node
// was started with values of its own. What it buys (full GCs per second on the pipeline and store
// threads, CPU per event, the burst's peak RSS) is measured by `npm run bench -- burst` and
// `memory`, not here: V8's heuristics are no contract a test could hold it to. The cap itself is.

// Many young objects that survive a while (a ring of 300,000): V8 grows the new space to its
// largest size, two semi-spaces.
const grow = `
const { getHeapSpaceStatistics } = require('node:v8')
const { parentPort } = require('node:worker_threads')
const ring = new Array(300000)
let most = 0
for (let i = 0; i < 4e6; i++) {
  ring[i % ring.length] = { i, s: 'x' + i }
  if (i % 50000 === 0) {
    const n = getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')
    most = Math.max(most, n ? n.space_size : 0)
  }
}
parentPort.postMessage(most)`

const newSpaceOfAThread = () =>
  new Promise<number>((resolve, reject) => {
    const w = new Worker(grow, { eval: true })
    w.once('message', (m: number) => void w.terminate().then(() => resolve(m)))
    w.once('error', reject)
  })

t.test('a thread started after it keeps its new space within the cap', async (t) => {
  t.ok(
    getHeapSpaceStatistics().some((s) => s.space_name === 'new_space'),
    'V8 reports it',
  )
  // V8 versions count the new space differently: two semi-spaces of 4 MB are 8 MB on Node 20
  // and 22 (32 MB uncapped), up to 14.25 MB on Node 24 (128 MB uncapped).
  const cap = 4 * SEMI_SPACE_MB * 2 ** 20
  const before = await newSpaceOfAThread()
  t.ok(before > cap, `without the cap it grows past it (${before} B)`)
  tuneThreadHeaps([], '')
  const after = await newSpaceOfAThread()
  t.ok(after > 0 && after <= cap, `${after} B`)
  t.ok(after * 2 <= before, 'at most half of what it grew to without')
})

// After the test above: each call sets V8's flags for the whole process.
t.test('a value given on the command line or in NODE_OPTIONS wins', async (t) => {
  const semi = `--max-semi-space-size=${SEMI_SPACE_MB}`
  t.same(tuneThreadHeaps(['--initial-old-space-size=16'], ''), [semi])
  t.same(
    tuneThreadHeaps(['--inspect', '--initial_old_space_size=16', '--max_semi_space_size=8'], ''),
    [],
  )
  t.same(tuneThreadHeaps([], '--max-semi-space-size=2 --initial-old-space-size=16'), [])
  t.same(
    tuneThreadHeaps(['--max-old-space-size=512'], '--max-young-generation-size=9'),
    ['--initial-old-space-size=64', semi],
    'other heap flags do not count',
  )
})

t.test('npm start gives Node the main thread flags, as the bench starts the engine', async (t) => {
  const root = fileURLToPath(new URL('..', import.meta.url))
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
    scripts: { start: string }
  }
  t.equal(pkg.scripts.start, ['exec node', ...ENGINE_NODE_FLAGS, 'bin/sluice.js start'].join(' '))
  t.same(startFlags(root), ENGINE_NODE_FLAGS)
})

t.test('this Node takes every flag of the launch lines without a word', async (t) => {
  // A V8 flag a Node version no longer knows makes it warn or refuse to start: the image and
  // the systemd unit would then run without it, or not at all.
  const r = spawnSync(
    process.execPath,
    [...ENGINE_NODE_FLAGS, '-e', 'process.stdout.write("up")'],
    {
      encoding: 'utf8',
    },
  )
  t.equal(r.status, 0)
  t.equal(r.stdout, 'up')
  t.equal(r.stderr, '')
})
