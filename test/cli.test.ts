import t from 'tap'
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { JOURNAL_ONLY_ENV, collect, spawnSluice, waitForLog } from './helpers/spawn.js'
import { SqliteJournal } from '../journal/index.js'
import { failOnLeaks } from './helpers/leaks.js'

const run = collect

function tempDir(t: { teardown(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-cli-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

t.test('--help lists the subcommands', async (t) => {
  const r = await run(spawnSluice(['--help'], {}))
  t.equal(r.code, 0)
  t.match(r.stdout, /Usage: sluice <command>/)
  t.match(r.stdout, /start/)
})

t.test('unknown command exits 2 (usage error)', async (t) => {
  const r = await run(spawnSluice(['frobnicate'], {}))
  t.equal(r.code, 2)
  t.match(r.stderr, /unknown command 'frobnicate'/)
  t.match(r.stderr, /Usage: sluice <command>/)
})

t.test('--version prints the package version', async (t) => {
  const pkg = readFileSync(new URL('../package.json', import.meta.url), 'utf8')
  const { version } = JSON.parse(pkg) as { version: string }
  const r = await run(spawnSluice(['--version'], {}))
  t.equal(r.code, 0, r.stderr)
  t.equal(r.stdout, `${version}\n`)
})

t.test('every subcommand answers --help and -h without acting', async (t) => {
  for (const args of [
    ['start', '--help'],
    ['start', '-h'],
    ['migrate', '--help'],
    ['migrate', '-h'],
    ['dlq', 'list', '--help'],
    ['dlq', 'redrive', '-h'],
    ['journal', 'drain', '--help'],
  ]) {
    const dir = tempDir(t)
    const name = args.slice(0, -1).join(' ')
    const flag = args.at(-1)
    // A port and a database that cannot work: acting would show as an error or a log line.
    const r = await run(spawnSluice(args, { ...JOURNAL_ONLY_ENV, PORT: '0', SLUICE_DATA_DIR: dir }))
    t.equal(r.code, 0, `${name} ${flag}: exit 0 (${r.stderr})`)
    t.match(r.stdout, new RegExp(`^Usage: sluice ${name}`), `${name} ${flag}: its usage`)
    t.notMatch(r.stdout, /"msg"/, `${name} ${flag}: no log line, nothing ran`)
    t.same(readdirSync(dir), [], `${name} ${flag}: the data directory is untouched`)
  }
  const help = await run(spawnSluice(['help', 'migrate'], {}))
  t.equal(help.code, 0)
  t.match(help.stdout, /^Usage: sluice migrate/)
})

t.test('unknown options and stray arguments exit 2 with one line and the usage', async (t) => {
  for (const args of [['--bogus'], ['start', '--port=1'], ['migrate', '--frob'], ['start', 'x']]) {
    const dir = tempDir(t)
    const r = await run(spawnSluice(args, { SLUICE_DATA_DIR: dir }))
    t.equal(r.code, 2, `${args.join(' ')}: exit 2`)
    const [first, second] = r.stderr.split('\n')
    t.match(first, /^sluice( \w+)?: (unknown option|unexpected argument) '[^']+'$/, `${first}`)
    t.match(second, /^usage: sluice/, `${args.join(' ')}: the usage`)
    t.same(readdirSync(dir), [], 'nothing ran')
  }
})

t.test('bad configuration exits 2 naming the variable', async (t) => {
  const r = await run(spawnSluice(['start'], { PORT: 'eighty', SLUICE_DATA_DIR: tempDir(t) }))
  t.equal(r.code, 2)
  t.match(r.stderr, /PORT must be an integer/)
})

t.test('start logs where it listens; SIGTERM answers what is in flight and exits 0', async (t) => {
  const dir = tempDir(t)
  const child = spawnSluice(['start'], {
    PORT: '0',
    HOST: '127.0.0.1',
    SLUICE_DATA_DIR: dir,
    ...JOURNAL_ONLY_ENV,
  })
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  })
  const done = run(child)
  const line = await waitForLog(child, (l) => l.msg === 'listening')
  t.equal(line.host, '127.0.0.1')
  const port = Number(line.port)
  t.ok(port > 0)
  const url = `http://127.0.0.1:${port}/webhook`
  const first = await fetch(url, { method: 'POST', body: '{"first":true}' })
  t.equal(first.status, 200)

  // Requests racing the signal: each gets a 200 (and is then journaled), a 503 or a closed socket.
  type Answer = { i: number; status: number; body: { error?: string } }
  const racing = Array.from({ length: 100 }, (_, i) =>
    fetch(url, {
      method: 'POST',
      body: `{"i":${i}}`,
      headers: { 'idempotency-key': `race-${i}` },
    }).then(
      async (r): Promise<Answer> => ({
        i,
        status: r.status,
        body: (await r.json()) as Answer['body'],
      }),
      (): Answer => ({ i, status: 0, body: {} }),
    ),
  )
  child.kill('SIGTERM')
  const results = await Promise.all(racing)
  const { code, stdout } = await done
  t.equal(code, 0, 'graceful exit code 0')
  t.match(stdout, /"msg":"stopped"/)
  for (const r of results) {
    if (r.status === 503) t.equal(r.body.error, 'shutting_down')
    else if (r.status !== 200 && r.status !== 0) t.fail(`unexpected status ${r.status}`)
  }
  const journal = new SqliteJournal({ dataDir: dir })
  await journal.start()
  t.teardown(() => journal.close())
  const ids = new Set(journal.readPending(0, 1000).map((e) => e.id))
  const ok = results.filter((r) => r.status === 200)
  t.ok(
    ok.every((r) => ids.has(`race-${r.i}`)),
    `all ${ok.length} racing 200s are journaled`,
  )
  // A commit whose answer could not reach a vanished client is allowed (200 implies committed,
  // not the reverse), so only the lower bound is asserted.
  t.ok(ids.size >= ok.length + 1, 'the first event and every racing 200 are journaled')
})

failOnLeaks(t)
