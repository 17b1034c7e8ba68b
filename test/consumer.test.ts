import t, { type Test } from 'tap'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { pino } from 'pino'
import { LocalBroker } from '../src/brokers/index.js'
import { Consumer } from '../src/consumer/index.js'
import { migrate } from '../src/db/migrate.js'
import { Maintenance } from '../src/db/maintenance.js'
import { ping } from '../src/db/ping.js'
import { clearFailures, getFailures, recordFailure } from '../src/db/failures.js'
import { createPool } from '../src/db/worker-pool.js'
import type { WebhookEvent } from '../src/event.js'
import { freshDatabase } from './helpers/pg.js'
import { TcpProxy } from './helpers/tcp-proxy.js'
import { until } from './helpers/wait.js'
import { failOnLeaks } from './helpers/leaks.js'

const logger = pino({ level: 'silent' })
const event = (id: string, over: Partial<WebhookEvent> = {}): WebhookEvent => ({
  id,
  source: 'default',
  receivedAt: Date.now(),
  contentType: 'application/json',
  headers: { 'x-event-type': 'test.kind' },
  body: Buffer.from(JSON.stringify({ id, pad: 'x'.repeat(512) })),
  verifiedBy: null,
  ...over,
})

/** Broker + worker pool + consumer on a fresh database; `dbUrl` lets a test put a proxy in between. */
async function pipeline(t: Test, options: { viaProxy?: boolean; maxAttempts?: number } = {}) {
  const db = await freshDatabase('sluice_consumer')
  const direct = new pg.Pool({ connectionString: db.url, max: 2 })
  await migrate(direct)
  await new Maintenance({ pool: direct }).runOnce()
  const proxy = new TcpProxy('127.0.0.1', 5432)
  await proxy.start()
  const url = options.viaProxy
    ? db.url.replace('127.0.0.1:5432', `127.0.0.1:${proxy.port}`)
    : db.url
  const pingPool = new pg.Pool({ connectionString: url, max: 1 })
  pingPool.on('error', () => {})
  const dir = mkdtempSync(join(tmpdir(), 'sluice-consumer-'))
  const maxAttempts = options.maxAttempts ?? 3
  const broker = new LocalBroker({ dataDir: dir, maxAttempts, pollIntervalMs: 20 }, logger)
  await broker.start()
  const workers = createPool({ connectionString: url, threads: 2 })
  const consumer = new Consumer(
    broker,
    workers,
    async () => (await ping(pingPool, 1000)).ok,
    logger,
    {
      maxAttempts,
      retryBaseMs: 50,
      outageBaseMs: 50,
      outageCapMs: 500,
    },
    {
      record: (failures) => recordFailure(direct, failures),
      clear: (keys) => clearFailures(direct, keys),
    },
  )
  await consumer.start()
  t.teardown(async () => {
    await consumer.close()
    await broker.close()
    await workers.close()
    await pingPool.end()
    await direct.end()
    await proxy.close()
    await db.drop()
    rmSync(dir, { recursive: true, force: true })
  })
  const rows = async (where = 'true', params: unknown[] = []) =>
    (await direct.query(`SELECT count(*)::int AS n FROM events WHERE ${where}`, params)).rows[0]
      .n as number
  return { broker, consumer, direct, proxy, rows }
}

t.test(
  'stores every event once and acks it; redeliveries and duplicates become one row',
  async (t) => {
    const { broker, rows } = await pipeline(t)
    const events = Array.from({ length: 300 }, (_, i) => event(`c-${i}`))
    // Every event three times: as a sender retry, a redelivery and a concurrent duplicate would.
    const confirmed = await broker.publish([...events, ...events, ...events])
    t.equal(confirmed.filter(Boolean).length, 900)
    await until('300 rows', async () => (await rows()) === 300)
    await until(
      'queue drained',
      async () => (await broker.deadLetters.list()).length === 0 && (await rows()) === 300,
    )
    t.equal(await rows(), 300, 'one row per (source, id)')
    t.equal(await rows("type = 'test.kind'"), 300, 'type taken from X-Event-Type')
  },
)

t.test(
  'a failing event is retried with delays, dead-lettered after the attempt limit, and redriven',
  async (t) => {
    const { broker, direct, rows } = await pipeline(t, { maxAttempts: 3 })
    // The operator's bug: a trigger that rejects one event. Postgres raises P0001, which is not a
    // data error, so the event is retried rather than dead-lettered at once.
    await direct.query(`CREATE FUNCTION reject_poison() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN IF NEW.id = 'poison' THEN RAISE EXCEPTION 'poison event refused'; END IF; RETURN NEW; END $$`)
    await direct.query(
      `CREATE TRIGGER reject_poison BEFORE INSERT ON event_keys FOR EACH ROW EXECUTE FUNCTION reject_poison()`,
    )
    await broker.publish([event('good-1'), event('poison'), event('good-2')])
    await until(
      'the poison event is dead-lettered',
      async () => (await broker.deadLetters.list()).length === 1,
    )
    const [dead] = await broker.deadLetters.list()
    t.equal(dead?.event.id, 'poison')
    t.equal(dead?.attempts, 3, 'dead-lettered after SLUICE_MAX_ATTEMPTS attempts')
    t.match(dead?.lastError, /poison event refused/, 'the last error is kept')
    await until('its neighbours are stored', async () => (await rows("id LIKE 'good-%'")) === 2)
    t.equal(await rows("id = 'poison'"), 0)
    const [record] = await getFailures(direct, [{ source: 'default', id: 'poison' }])
    t.equal(record?.attempts, 3, 'every failed attempt was recorded')
    t.match(record?.lastError, /poison event refused/)

    await direct.query('DROP TRIGGER reject_poison ON event_keys')
    t.equal(await broker.deadLetters.redrive('poison'), 1, 'redrive by id')
    await until('the redriven event is stored', async () => (await rows("id = 'poison'")) === 1)
    t.same(await broker.deadLetters.list(), [], 'dead-letter queue empty again')
    await until(
      'the failure record is cleared once stored',
      async () => (await getFailures(direct, [{ source: 'default', id: 'poison' }])).length === 0,
    )
  },
)

t.test(
  'Postgres outage: nothing is acked or dead-lettered, everything lands once after restore',
  async (t) => {
    const { broker, consumer, proxy, rows } = await pipeline(t, { viaProxy: true, maxAttempts: 2 })
    await broker.publish([event('warm')])
    await until('warm-up stored', async () => (await rows()) === 1)

    proxy.cutLink()
    await broker.publish(Array.from({ length: 200 }, (_, i) => event(`out-${i}`)))
    await until('consumer reports the database down', () => consumer.status().database === 'down')
    // Several back-off rounds pass: with maxAttempts 2, counting these as attempts would dead-letter.
    await new Promise((r) => setTimeout(r, 1500))
    t.equal(await rows("id LIKE 'out-%'"), 0, 'nothing stored during the outage')

    proxy.restore()
    await until('all 200 stored', async () => (await rows("id LIKE 'out-%'")) === 200)
    t.equal(consumer.status().database, 'up')
    t.same(await broker.deadLetters.list(), [], 'no event was dead-lettered by the outage')
    t.equal(await rows(), 201, 'no duplicates')
  },
)

failOnLeaks(t)
