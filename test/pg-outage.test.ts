import t from 'tap'
import pg from 'pg'
import { migrate } from '../src/db/migrate.js'
import { Maintenance } from '../src/db/maintenance.js'
import { DatabaseUnavailableError } from '../src/db/errors.js'
import { ping } from '../src/db/ping.js'
import { createPool } from '../workers/pool.js'
import type { WebhookEvent } from '../src/event.js'
import { freshDatabase } from './helpers/pg.js'
import { TcpProxy } from './helpers/tcp-proxy.js'
import { failOnLeaks } from './helpers/leaks.js'

function batch(prefix: string, n: number): WebhookEvent[] {
  return Array.from({ length: n }, (_, i) => ({
    id: `${prefix}-${i}`,
    source: 'default',
    receivedAt: Date.now(),
    contentType: 'application/json',
    headers: {},
    body: Buffer.from(JSON.stringify({ i, pad: 'p'.repeat(2000) })),
    verifiedBy: null,
  }))
}

t.test('Postgres outage through a TCP proxy', async (t) => {
  const db = await freshDatabase('sluice_outage')
  const proxy = new TcpProxy('127.0.0.1', 5432)
  await proxy.start()
  const proxied = db.url.replace('127.0.0.1:5432', `127.0.0.1:${proxy.port}`)
  const direct = new pg.Pool({ connectionString: db.url, max: 2 })
  const viaProxy = new pg.Pool({ connectionString: proxied, max: 1 })
  viaProxy.on('error', () => {}) // idle client cut by the proxy; expected here
  const workers = createPool({ connectionString: proxied, threads: 2 })
  t.teardown(async () => {
    await workers.close()
    await viaProxy.end()
    await direct.end()
    await proxy.close()
    await db.drop()
  })
  await migrate(direct)
  await new Maintenance({ pool: direct }).runOnce()
  const count = async (prefix: string) =>
    (
      await direct.query<{ n: number; d: number }>(
        'SELECT count(*)::int AS n, count(DISTINCT id)::int AS d FROM events WHERE id LIKE $1',
        [`${prefix}-%`],
      )
    ).rows[0]

  // Warm the worker threads' connections so the cut breaks live sockets, not just new ones.
  t.ok((await workers.run(batch('warm', 4))).every((r) => r.ok))
  t.match(await ping(viaProxy), { ok: true })

  proxy.cut()
  const events = batch('cut', 100)
  await t.rejects(workers.run(events), DatabaseUnavailableError, 'retryable while cut')
  await t.rejects(workers.run(events), DatabaseUnavailableError, 'and again on a new connection')
  t.match(await ping(viaProxy, 5000), { ok: false }, 'ping says not ready')
  t.same(await count('cut'), { n: 0, d: 0 }, 'nothing written while cut')

  proxy.restore()
  const after = await workers.run(events)
  t.ok(
    after.every((r) => r.ok && r.inserted),
    'the retried batch succeeds after restore',
  )
  t.same(await count('cut'), { n: 100, d: 100 })
  t.match(await ping(viaProxy), { ok: true })

  // A cut racing an in-flight batch: whether or not its commit landed, the retry after restore
  // leaves exactly one row per event.
  const racing = batch('race', 200)
  const inFlight = workers.run(racing).then(
    () => 'committed',
    (err: unknown) => (err instanceof DatabaseUnavailableError ? 'unavailable' : err),
  )
  proxy.cut()
  const outcome = await inFlight
  t.ok(outcome === 'committed' || outcome === 'unavailable', `in-flight batch: ${String(outcome)}`)
  proxy.restore()
  const retried = await workers.run(racing)
  t.ok(retried.every((r) => r.ok))
  t.same(await count('race'), { n: 200, d: 200 }, 'no loss, no duplicates')
})

failOnLeaks(t)
