import t, { type Test } from 'tap'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { pino } from 'pino'
import { LocalBroker } from '../src/brokers/index.js'
import { Consumer } from '../src/consumer/index.js'
import { runIsolating } from '../src/consumer/isolate.js'
import { DatabaseUnavailableError } from '../src/db/errors.js'
import { migrate } from '../src/db/migrate.js'
import { Maintenance } from '../src/db/maintenance.js'
import { ping } from '../src/db/ping.js'
import { clearFailures, getFailures, recordFailure } from '../src/db/failures.js'
import { listDeadLetters, writeDeadLetters } from '../src/db/dead-letters.js'
import { createPool } from '../workers/pool.js'
import type { StorableEvent, WebhookEvent } from '../src/event.js'
import { freshDatabase } from './helpers/pg.js'
import { until } from './helpers/wait.js'
import { failOnLeaks } from './helpers/leaks.js'

const logger = pino({ level: 'silent' })
const event = (id: string): WebhookEvent => ({
  id,
  source: 'default',
  receivedAt: Date.now(),
  contentType: 'application/json',
  headers: { 'x-event-type': 'test.kind' },
  body: Buffer.from(JSON.stringify({ id })),
  verifiedBy: null,
})

/**
 * Local broker + the real worker pool + consumer on a fresh database. `crash(events)` is the
 * batch fault under test: when it names a reason, the run fails as a whole with it, as it does
 * when a worker thread dies on a batch (Piscina rejects the task; the database is fine).
 */
async function pipeline(t: Test, crash: (events: StorableEvent[]) => string | null) {
  const db = await freshDatabase('sluice_isolate')
  const direct = new pg.Pool({ connectionString: db.url, max: 2 })
  await migrate(direct)
  await new Maintenance({ pool: direct }).runOnce()
  const dir = mkdtempSync(join(tmpdir(), 'sluice-isolate-'))
  const broker = new LocalBroker({ dataDir: dir, pollIntervalMs: 20 }, logger)
  await broker.start()
  const workers = createPool({ connectionString: db.url, threads: 2 })
  const runs: number[] = []
  const consumer = new Consumer(
    {
      subscriber: broker,
      processor: {
        run: async (events) => {
          runs.push(events.length)
          const reason = crash(events)
          if (reason) throw new Error(reason)
          return workers.run(events)
        },
      },
      deadLetters: { write: (letters) => writeDeadLetters(direct, letters) },
      databaseUp: async () => (await ping(direct, 1000)).ok,
      logger,
      failureLog: {
        record: (failures) => recordFailure(direct, failures),
        clear: (keys) => clearFailures(direct, keys),
      },
    },
    { maxAttempts: 3, retryBaseMs: 50, retryCapMs: 200, outageBaseMs: 50, outageCapMs: 500 },
  )
  await consumer.start()
  t.teardown(async () => {
    await consumer.close()
    await broker.close()
    await workers.close()
    await direct.end()
    await db.drop()
    rmSync(dir, { recursive: true, force: true })
  })
  const rows = async (where = 'true') =>
    (await direct.query<{ n: number }>(`SELECT count(*)::int AS n FROM events WHERE ${where}`))
      .rows[0]!.n
  return { broker, direct, rows, dead: () => listDeadLetters(direct), runs }
}

t.test(
  'a batch that crashes on one event: the culprit is found and charged, its batch-mates stored',
  async (t) => {
    const { broker, direct, rows, dead, runs } = await pipeline(t, (events) =>
      events.some((e) => e.id === 'poison') ? 'worker exited with code 134 (out of memory)' : null,
    )
    const events = Array.from({ length: 40 }, (_, i) => event(i === 17 ? 'poison' : `mate-${i}`))
    // One publish is handed over in one go: one batch, as an envelope's events are.
    await broker.publish(events)
    await until('the poison event is dead-lettered', async () => (await dead()).length >= 1)
    await until(
      'its 39 batch-mates are stored',
      async () => (await rows("id LIKE 'mate-%'")) === 39,
    )
    const letters = await dead()
    t.same(
      letters.map((l) => l.event.id),
      ['poison'],
      'only the culprit is dead-lettered, not its siblings',
    )
    t.equal(letters[0]?.reason, 'attempts_exhausted')
    t.equal(letters[0]?.attempts, 3, 'after SLUICE_MAX_ATTEMPTS of its own')
    t.match(letters[0]?.lastError, /worker exited with code 134/)
    t.equal(await rows("id = 'poison'"), 0)
    const mates = events.filter((e) => e.id !== 'poison').map(({ source, id }) => ({ source, id }))
    t.same(await getFailures(direct, mates), [], 'no batch-mate was charged a failed attempt')
    t.ok(runs.includes(1), 'the culprit was run alone')
  },
)

t.test('a batch that fails only as a whole is stored in parts; nobody is charged', async (t) => {
  const { broker, direct, rows, dead } = await pipeline(t, (events) =>
    events.length > 8 ? 'worker ran out of memory on a batch this big' : null,
  )
  const events = Array.from({ length: 30 }, (_, i) => event(`big-${i}`))
  await broker.publish(events)
  await until('all 30 stored', async () => (await rows("id LIKE 'big-%'")) === 30)
  t.same(await dead(), [], 'nothing dead-lettered')
  t.same(await getFailures(direct, events), [], 'and no attempt charged')
})

t.test('an outage met while splitting holds the whole batch: nobody is charged', async (t) => {
  const events = Array.from({ length: 8 }, (_, i) => event(`part-${i}`))
  const seen: number[] = []
  const run = async (part: StorableEvent[]) => {
    seen.push(part.length)
    if (part.some((e) => e.id === 'part-1')) throw new Error('worker exited with code 1')
    // The database goes away while the halves are tried.
    if (part.some((e) => e.id === 'part-6')) throw new DatabaseUnavailableError('connection lost')
    return part.map(() => ({ ok: true as const, inserted: true, processedAt: 0 }))
  }
  const ownFault = async (err: unknown) => !(err instanceof DatabaseUnavailableError)
  await t.rejects(runIsolating(events, run, ownFault), DatabaseUnavailableError)
  t.same(seen, [8, 4, 2, 1, 1, 2, 4], 'split down to part-1, then the outage in the second half')
})

failOnLeaks(t)
