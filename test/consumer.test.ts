import t, { type Test } from 'tap'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import pg from 'pg'
import { pino } from 'pino'
import { LocalBroker } from '../src/brokers/index.js'
import { Consumer } from '../src/consumer/index.js'
import { migrate } from '../src/db/migrate.js'
import { Maintenance } from '../src/db/maintenance.js'
import { ping } from '../src/db/ping.js'
import { clearFailures, getFailures, recordFailure } from '../src/db/failures.js'
import { listDeadLetters, writeDeadLetters } from '../src/db/dead-letters.js'
import { redriveDeadLetters } from '../src/consumer/redrive.js'
import { createPool } from '../workers/pool.js'
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
  const broker = new LocalBroker({ dataDir: dir, pollIntervalMs: 20 }, logger)
  await broker.start()
  const workers = createPool({ connectionString: url, threads: 2 })
  let processorRuns = 0
  const problems: string[] = []
  let recoveries = 0
  const consumer = new Consumer(
    {
      subscriber: broker,
      processor: {
        run: (events) => {
          processorRuns++
          return workers.run(events)
        },
      },
      deadLetters: { write: (letters) => writeDeadLetters(direct, letters) },
      databaseUp: async () => (await ping(pingPool, 1000)).ok,
      logger,
      failureLog: {
        record: (failures) => recordFailure(direct, failures),
        clear: (keys) => clearFailures(direct, keys),
      },
      health: {
        failed: (err) => void problems.push(err.code),
        recovered: () => void recoveries++,
      },
    },
    { maxAttempts, retryBaseMs: 50, outageBaseMs: 50, outageCapMs: 500 },
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
    (
      await direct.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM events WHERE ${where}`,
        params,
      )
    ).rows[0]!.n
  const dead = () => listDeadLetters(direct)
  const queued = () => {
    const q = new Database(join(dir, 'queue.db'), { readonly: true })
    try {
      return (q.prepare('SELECT count(*) AS n FROM messages').get() as { n: number }).n
    } finally {
      q.close()
    }
  }
  const runs = () => processorRuns
  const health = { problems, recoveries: () => recoveries }
  return { broker, consumer, direct, proxy, rows, dead, workers, queued, runs, health }
}

t.test(
  'stores every event once and acks it; redeliveries and duplicates become one row',
  async (t) => {
    const { broker, rows, dead } = await pipeline(t)
    const events = Array.from({ length: 300 }, (_, i) => event(`c-${i}`))
    // Every event three times: as a sender retry, a redelivery and a concurrent duplicate would.
    const confirmed = await broker.publish([...events, ...events, ...events])
    t.equal(confirmed.filter(Boolean).length, 900)
    await until('300 rows', async () => (await rows()) === 300)
    await until('queue drained', async () => (await dead()).length === 0 && (await rows()) === 300)
    t.equal(await rows(), 300, 'one row per (source, id)')
    t.equal(await rows("type = 'test.kind'"), 300, 'type taken from X-Event-Type')
  },
)

t.test('events handed over together are stored as one batch', async (t) => {
  const { broker, rows, runs } = await pipeline(t)
  await broker.publish([event('warm-up')])
  await until('warm-up stored', async () => (await rows()) === 1)
  const before = runs()
  // One publish is one transaction of the local queue, leased and handed over in one go, as an
  // envelope's events are by the RabbitMQ and SQS adapters.
  await broker.publish(Array.from({ length: 40 }, (_, i) => event(`together-${i}`)))
  await until('all 40 stored', async () => (await rows("id LIKE 'together-%'")) === 40)
  t.equal(runs() - before, 1, 'in one processor run')
})

t.test(
  'a failing event is retried with delays, dead-lettered into Postgres after the attempt limit, and redriven',
  async (t) => {
    const { broker, direct, rows, dead, workers, queued } = await pipeline(t, { maxAttempts: 3 })
    // The operator's bug: a trigger that rejects one event. Postgres raises P0001, which is not a
    // data error, so the event is retried rather than dead-lettered at once.
    await direct.query(`CREATE FUNCTION reject_poison() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN IF NEW.id = 'poison' THEN RAISE EXCEPTION 'poison event refused'; END IF; RETURN NEW; END $$`)
    await direct.query(
      `CREATE TRIGGER reject_poison BEFORE INSERT ON event_keys FOR EACH ROW EXECUTE FUNCTION reject_poison()`,
    )
    const started = Date.now()
    await broker.publish([event('good-1'), event('poison'), event('good-2')])
    await until('the poison event is dead-lettered', async () => (await dead()).length === 1)
    const [letter] = await dead()
    t.equal(letter?.event.id, 'poison')
    t.equal(letter?.reason, 'attempts_exhausted')
    t.equal(letter?.attempts, 3, 'dead-lettered after SLUICE_MAX_ATTEMPTS attempts')
    t.match(letter?.lastError, /poison event refused/, 'the last error is kept')
    t.ok(letter?.event.body.equals(event('poison').body), 'with the exact body')
    t.ok(letter!.firstFailedAt.getTime() >= started - 1000, 'first failure time from the log')
    t.ok(letter!.lastFailedAt >= letter!.firstFailedAt)
    t.same(await getFailures(direct, [{ source: 'default', id: 'poison' }]), [], 'log moved in')
    await until('its neighbours are stored', async () => (await rows("id LIKE 'good-%'")) === 2)
    t.equal(await rows("id = 'poison'"), 0)
    await until('the queue is empty: the dead letter was acked', () => queued() === 0)

    const stillBroken = await redriveDeadLetters(direct, workers, [{ id: 'poison' }])
    t.same(stillBroken, { redriven: 0, failed: 1 }, 'a redrive that fails again keeps it')
    t.equal((await dead())[0]?.attempts, 4, 'with one more attempt')

    await direct.query('DROP TRIGGER reject_poison ON event_keys')
    t.same(await redriveDeadLetters(direct, workers, [{ id: 'poison' }]), {
      redriven: 1,
      failed: 0,
    })
    t.equal(await rows("id = 'poison'"), 1, 'stored by the redrive')
    t.same(await dead(), [], 'dead letters empty again')
    t.same(await redriveDeadLetters(direct, workers), { redriven: 0, failed: 0 })
  },
)

t.test('a data error is dead-lettered at once; its batch-mates are stored', async (t) => {
  const { broker, rows, dead } = await pipeline(t, { maxAttempts: 5 })
  // A receivedAt Postgres cannot hold (year 275760+) fails as an invalid event.
  await broker.publish([event('fine-1'), event('bad', { receivedAt: 8.7e15 }), event('fine-2')])
  await until('the bad event is dead-lettered', async () => (await dead()).length === 1)
  const [letter] = await dead()
  t.equal(letter?.event.id, 'bad')
  t.equal(letter?.reason, 'invalid_event')
  t.equal(letter?.attempts, 1, 'on its first attempt')
  await until('the others are stored', async () => (await rows("id LIKE 'fine-%'")) === 2)
})

t.test(
  'Postgres outage: nothing is acked or dead-lettered, everything lands once after restore',
  async (t) => {
    const { broker, consumer, proxy, rows, dead, runs } = await pipeline(t, {
      viaProxy: true,
      maxAttempts: 2,
    })
    await broker.publish([event('warm')])
    await until('warm-up stored', async () => (await rows()) === 1)

    proxy.cut()
    await broker.publish(Array.from({ length: 200 }, (_, i) => event(`out-${i}`)))
    await until('consumer reports the database down', () => consumer.status().database === 'down')
    // Several rounds fail: with maxAttempts 2, counting them as attempts would dead-letter.
    const before = runs()
    await until('three more processing rounds failed', () => runs() >= before + 3)
    t.equal(await rows("id LIKE 'out-%'"), 0, 'nothing stored during the outage')

    proxy.restore()
    await until('all 200 stored', async () => (await rows("id LIKE 'out-%'")) === 200)
    t.equal(consumer.status().database, 'up')
    t.same(await dead(), [], 'no event was dead-lettered by the outage')
    t.equal(await rows(), 201, 'no duplicates')
  },
)

t.test(
  'a table gone from the search_path holds batches as a permanent problem; no event spends an attempt',
  async (t) => {
    const { broker, direct, rows, dead, runs, health } = await pipeline(t, { maxAttempts: 2 })
    await broker.publish([event('before')])
    await until('warm-up stored', async () => (await rows()) === 1)
    // An operator's mistake every event would hit alike: the key table is not where it was.
    await direct.query('ALTER TABLE event_keys RENAME TO event_keys_moved')
    await broker.publish(Array.from({ length: 30 }, (_, i) => event(`held-${i}`)))
    await until('reported as a permanent database problem', () =>
      health.problems.includes('database_schema_missing'),
    )
    const before = runs()
    // With maxAttempts 2, counting these rounds as attempts would dead-letter every event.
    await until('three more rounds were held', () => runs() >= before + 3)
    t.same(await dead(), [], 'nothing dead-lettered for it')
    const recovered = health.recoveries()
    await direct.query('ALTER TABLE event_keys_moved RENAME TO event_keys')
    await until('all held events stored once fixed', async () => (await rows()) === 31)
    // The rows are visible a moment before the consumer, resuming after the commit, reports it.
    await until('the problem cleared', () => health.recoveries() > recovered)
    t.ok(health.recoveries() > recovered, 'and the problem is cleared')
    t.same(await dead(), [])
  },
)

failOnLeaks(t)
