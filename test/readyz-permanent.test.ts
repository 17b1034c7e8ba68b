import t, { type Test } from 'tap'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { pino } from 'pino'
import { loadConfig } from '../src/config.js'
import { Engine } from '../src/engine.js'
import { migrate } from '../src/db/migrate.js'
import { freshDatabase } from './helpers/pg.js'
import { post } from './helpers/post.js'
import { until } from './helpers/wait.js'
import { failOnLeaks } from './helpers/leaks.js'

interface Check {
  ok: boolean
  code?: string
  error?: string
  hint?: string
  since?: string
}

/** An engine on `env`, and a reader of its /readyz. */
async function engineOn(t: Test, env: Record<string, string>) {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-readyz-permanent-'))
  const config = loadConfig({
    PORT: '0',
    SLUICE_ADMIN_PORT: '0',
    HOST: '127.0.0.1',
    SLUICE_DATA_DIR: dir,
    SLUICE_WORKERS: '1',
    ...env,
  })
  const engine = new Engine(config, {
    logger: pino({ level: 'silent' }),
    pipeline: { permanentRetryMs: 200, brokers: { rabbitmq: { permanentRetryMs: 200 } } },
  })
  t.teardown(async () => {
    await engine.close()
    rmSync(dir, { recursive: true, force: true })
  })
  await engine.start()
  const base = `http://127.0.0.1:${engine.port}`
  const readyz = async () => {
    const res = await fetch(`${base}/readyz`)
    const body = (await res.json()) as { checks: { broker: Check; database: Check } }
    return { status: res.status, ...body.checks }
  }
  return { base, readyz }
}

t.test(
  'a database migrated by a newer Sluice: shown in /readyz, ingest still answers',
  async (t) => {
    const db = await freshDatabase('sluice_readyz_too_new')
    t.teardown(() => db.drop())
    await migrate(db.url)
    const pool = new pg.Pool({ connectionString: db.url, max: 1 })
    const before = await pool.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM sluice_migrations',
    )
    await pool.query("INSERT INTO sluice_migrations (version, name) VALUES (99, 'from_the_future')")
    await pool.end()
    const { base, readyz } = await engineOn(t, { DATABASE_URL: db.url })
    await until(
      '/readyz shows schema_too_new',
      async () => (await readyz()).database.code === 'schema_too_new',
    )
    const r = await readyz()
    t.equal(r.status, 200, 'the journal accepts events: still ready')
    t.equal(r.database.ok, false)
    t.match(r.database.error, /version 99/)
    t.match(r.database.hint, /upgrade this node/)
    const res = await post(`${base}/webhook`, '{"type":"kept"}')
    t.equal(res.status, 200, 'ingest answers 200: the event waits in the journal')
    const check = new pg.Pool({ connectionString: db.url, max: 1 })
    t.teardown(() => check.end())
    const { rows } = await check.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM sluice_migrations',
    )
    t.equal(rows[0]!.n, before.rows[0]!.n + 1, 'no migration ran against the newer schema')
  },
)

t.test('RabbitMQ refusing the credentials: broker check ok:false with the code', async (t) => {
  const db = await freshDatabase('sluice_readyz_denied')
  t.teardown(() => db.drop())
  const { base, readyz } = await engineOn(t, {
    DATABASE_URL: db.url,
    SLUICE_BROKER: 'rabbitmq',
    AMQP_URL: 'amqp://guest:wrong-password@127.0.0.1:5672',
    SLUICE_QUEUE: `sluice.test.denied-${process.pid}`,
  })
  await until(
    '/readyz shows broker_access_denied',
    async () => (await readyz()).broker.code === 'broker_access_denied',
  )
  const r = await readyz()
  t.equal(r.status, 200)
  t.equal(r.broker.ok, false)
  t.match(r.broker.error, /ACCESS.REFUSED/)
  t.match(r.broker.hint, /AMQP_URL/)
  t.ok(r.broker.since && !Number.isNaN(Date.parse(r.broker.since)), 'since when')
  t.equal((await post(`${base}/webhook`, '{}')).status, 200, 'ingest answers 200 meanwhile')
})

failOnLeaks(t)
