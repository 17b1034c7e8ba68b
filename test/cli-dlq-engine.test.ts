import t from 'tap'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { openDatabase } from '../src/db/database.js'
import { writeDeadLetters } from '../src/db/dead-letters.js'
import { migrate } from '../src/db/migrate.js'
import { failOnLeaks } from './helpers/leaks.js'
import { freePort } from './helpers/own-postgres.js'
import { collect, spawnSluice, waitForLog } from './helpers/spawn.js'
import { until } from './helpers/wait.js'

const letter = (id: string) => ({
  event: {
    id,
    source: 'default',
    receivedAt: Date.now(),
    contentType: 'application/json',
    headers: {},
    body: Buffer.from('{"type":"a"}'),
    verifiedBy: null,
  },
  reason: 'attempts_exhausted' as const,
  attempts: 5,
  error: 'boom',
})

t.test('sluice dlq list|retry|redrive while an embedded-defaults engine runs', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-dlq-engine-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  // Two dead letters in the embedded database before the engine takes the data directory.
  const db = await openDatabase({ dataDir: dir, poolSize: 1, extraConnections: 0 })
  try {
    await migrate(db.pool)
    await writeDeadLetters(db.pool, [letter('dead-a'), letter('dead-b')])
  } finally {
    await db.close()
  }

  const env = {
    SLUICE_DATA_DIR: dir,
    PORT: String(await freePort()),
    SLUICE_ADMIN_PORT: String(await freePort()),
    SLUICE_WORKERS: '1',
  }
  const engine = spawnSluice(['start'], env)
  const exited = collect(engine)
  t.teardown(async () => {
    engine.kill('SIGTERM')
    await exited
  })
  await waitForLog(engine, (l) => l.msg === 'admin listening', 120_000)
  const sluice = (...args: string[]) => collect(spawnSluice(args, env))
  const sluiceWith = (more: Record<string, string>, ...args: string[]) =>
    collect(spawnSluice(args, { ...env, ...more }))

  // The admin API answers 503 until the engine's database is up.
  let list = await sluice('dlq', 'list')
  const listed = async () => {
    if (list.code !== 0) list = await sluice('dlq', 'list')
    return list.code === 0
  }
  await until('the engine lists dead letters', listed, 120_000)
  t.equal(list.code, 0, list.stderr)
  const ids = list.stdout
    .trim()
    .split('\n')
    .map((l) => (JSON.parse(l) as { id: string }).id)
    .sort()
  t.same(ids, ['dead-a', 'dead-b'], 'listed through the engine, which holds the data directory')
  t.notMatch(list.stderr, /in use by/)

  const one = await sluice('dlq', 'list', '--id', 'dead-b')
  t.same(
    one.stdout
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { id: string }).id),
    ['dead-b'],
    '--id filters',
  )

  const retried = await sluice('dlq', 'retry', '--id', 'dead-a')
  t.equal(retried.code, 0, retried.stderr)
  t.same(JSON.parse(retried.stdout), { retried: 1, failed: 0 })
  const unknown = await sluice('dlq', 'retry', '--id', 'nope')
  t.equal(unknown.code, 1, 'nothing matched --id: exit 1')
  t.same(JSON.parse(unknown.stdout), { retried: 0, failed: 0 })
  const alias = await sluice('dlq', 'redrive')
  t.equal(alias.code, 0, alias.stderr)
  t.same(JSON.parse(alias.stdout), { redriven: 1, failed: 0 }, 'redrive: the alias, all of them')
  const after = await sluice('dlq', 'list')
  t.equal(after.code, 0, after.stderr)
  t.equal(after.stdout, '', 'none left')

  const help = await sluice('dlq', 'retry', '--help')
  t.match(help.stdout, /goes through its admin API/)
  t.match(help.stdout, /Only when no engine runs there does\s+it open the database/)

  // The engine holds the directory but its API is not where the CLI looks: said, and the
  // database is not tried (the engine holds it).
  const elsewhere = await sluiceWith({ SLUICE_ADMIN_PORT: String(await freePort()) }, 'dlq', 'list')
  t.equal(elsewhere.code, 1, 'refused')
  t.match(elsewhere.stderr, /holds SLUICE_DATA_DIR, but its admin API cannot be used/)
  t.notMatch(elsewhere.stderr, /in use by/)

  // Once the engine has stopped, the same commands open the embedded database themselves.
  engine.kill('SIGTERM')
  t.equal((await exited).code, 0, 'the engine stopped')
  const direct = await sluice('dlq', 'retry')
  t.equal(direct.code, 0, direct.stderr)
  t.same(JSON.parse(direct.stdout), { retried: 0, failed: 0 }, 'nothing left, from the database')
})

failOnLeaks(t)
