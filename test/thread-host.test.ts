import t, { type Test } from 'tap'
import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import pino from 'pino'
import { ThreadHost } from '../src/actors/thread-host.js'
import { until } from './helpers/wait.js'
import type { EchoApi, EchoHostApi } from './fixtures/echo-actor.js'

// The one supervisor of Sluice's threads: typed calls both ways, log relay, restart with the
// engine's back-off, and one close (ask, wait for the exit, terminate after a timeout).

const file = new URL('./fixtures/echo-actor.ts', import.meta.url)
const run = promisify(execFile)

function host(t: Test, hangOnClose = false, closeTimeoutMs = 30_000) {
  const lines: Array<{ msg?: string }> = []
  const logger = pino(
    { level: 'info' },
    {
      write: (l: string) => void lines.push(JSON.parse(l) as { msg?: string }),
    },
  )
  let restarts = 0
  let deaths = 0
  const serve: EchoHostApi = { greet: (from) => `hello from ${from}` }
  const h = new ThreadHost<EchoApi>({
    file,
    workerData: () => ({ hangOnClose }),
    serve,
    logger,
    name: 'echo thread',
    closeTimeoutMs,
    onRestart: () => restarts++,
    onDied: () => deaths++,
    unavailable: () => Object.assign(new Error('echo is away'), { code: 'away' }),
  })
  t.teardown(() => h.close())
  return { h, lines, counts: () => ({ restarts, deaths }) }
}

t.test('typed calls, the served side, log lines and `unavailable`', async (t) => {
  const { h, lines } = host(t)
  await t.rejects(h.remote.echo('early'), { code: 'away' }, 'no started thread yet')
  h.start()
  await until('started', () => h.current?.started === true)
  t.equal(await h.remote.echo('hi'), 'hi')
  const id = await h.remote.whoami()
  t.ok(
    lines.some((l) => l.msg === `hello from ${id}`),
    'the actor called the host and its log line was relayed',
  )
})

t.test('a thread that dies is restarted after the back-off', async (t) => {
  const { h, lines, counts } = host(t)
  h.start()
  await until('started', () => h.current?.started === true)
  const first = await h.remote.whoami()
  await h.terminate()
  await t.rejects(h.remote.echo('down'), { code: 'away' }, 'calls fail while it is down')
  await until('started again', () => h.current?.started === true, 10_000)
  t.not(await h.remote.whoami(), first, 'a new thread')
  t.same(counts(), { restarts: 1, deaths: 1 })
  t.ok(lines.some((l) => l.msg === 'echo thread died; restarting'))
})

t.test('close asks the actor, then the thread is gone for good', async (t) => {
  const { h, counts } = host(t)
  h.start()
  await until('started', () => h.current?.started === true)
  const worker = h.current!.worker
  const exited = new Promise<number>((r) => worker.once('exit', r))
  await h.close()
  t.equal(await exited, 0, 'it ended its own loop (exit code 0, not terminated)')
  t.equal(h.current, null)
  t.same(counts(), { restarts: 0, deaths: 0 }, 'a close is not a death')
})

t.test('a close that never answers is ended after the timeout', async (t) => {
  const { h, lines } = host(t, true, 300)
  h.start()
  await until('started', () => h.current?.started === true)
  const worker = h.current!.worker
  const exited = new Promise<number>((r) => worker.once('exit', r))
  const started = Date.now()
  await h.close()
  t.equal(await exited, 1, 'terminated (exit code 1)')
  t.ok(Date.now() - started < 10_000, 'within the bound, not for ever')
  t.ok(lines.some((l) => l.msg === 'echo thread did not close cleanly'))
})

t.test("closing an unref'd thread keeps the process alive until it has ended", async (t) => {
  const loader = process.execArgv.filter((a) => a.includes('@tapjs/typescript'))
  const script = fileURLToPath(new URL('./fixtures/close-unrefd.ts', import.meta.url))
  const { stdout } = await run(process.execPath, [...loader, script], { timeout: 60_000 })
  t.equal(stdout.trim(), 'closed', 'the close finished before the process exited')
})
