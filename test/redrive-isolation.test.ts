import t, { type Test } from 'tap'
import pg from 'pg'
import { listDeadLetters, writeDeadLetters } from '../src/db/dead-letters.js'
import { redriveDeadLetters } from '../src/consumer/redrive.js'
import { DatabaseUnavailableError, StoreClosedError } from '../src/db/errors.js'
import type { StorableEvent, WebhookEvent } from '../src/event.js'
import type { BatchProcessor } from '../src/consumer/types.js'
import { storingDatabase } from './helpers/pg.js'
import { failOnLeaks } from './helpers/leaks.js'
import { inProcessStore } from '../src/commands/in-process-store.js'

const event = (id: string): WebhookEvent => ({
  id,
  source: 'redrive',
  receivedAt: Date.now(),
  contentType: 'application/json',
  headers: {},
  body: Buffer.from(JSON.stringify({ id })),
  verifiedBy: null,
})

/**
 * The real worker pool, behind the fault under test: a run holding `poison` fails as a whole,
 * as it does when a store thread dies on a batch (Piscina rejects the task; the database is fine).
 */
async function setup(t: Test, fault: () => Error | null) {
  const { pool, workers, url } = await storingDatabase(t, 'sluice_redrive_iso', 1)
  const runs: string[][] = []
  const processor: BatchProcessor = {
    run: async (events: StorableEvent[]) => {
      runs.push(events.map((e) => e.id))
      const err = events.some((e) => e.id === 'poison') ? fault() : null
      if (err) throw err
      return workers.run(events)
    },
  }
  const ids = ['a', 'b', 'poison', 'c', 'd']
  await writeDeadLetters(
    pool,
    ids.map((id) => ({ event: event(id), reason: 'attempts_exhausted', attempts: 3, error: 'x' })),
  )
  const stored = async () =>
    (
      await pool.query<{ id: string }>("SELECT id FROM events WHERE source = 'redrive' ORDER BY id")
    ).rows.map((r) => r.id)
  return { pool, url, workers, processor, runs, stored }
}

t.test('a letter its store thread dies on fails alone; the round redrives the rest', async (t) => {
  const { pool, processor, runs, stored } = await setup(t, () => new Error('worker died'))
  t.same(await redriveDeadLetters(pool, processor), { redriven: 4, failed: 1 })
  const left = await listDeadLetters(pool, { limit: 10 })
  t.same(
    left.map((l) => l.event.id),
    ['poison'],
    'only that letter stays',
  )
  t.equal(left[0]?.attempts, 4, 'with one more attempt')
  t.equal(left[0]?.lastError, 'worker died', 'and its error')
  t.same(await stored(), ['a', 'b', 'c', 'd'])
  t.ok(runs.length > 2 && runs.some((r) => r.length === 1 && r[0] === 'poison'), 'bisected')
})

t.test('an outage met while bisecting fails the redrive and charges no letter', async (t) => {
  // The thread dies on the whole round, then the database goes away: whatever half ran first
  // may be stored, but no letter is charged, and a later redrive stores each exactly once.
  let faults = 0
  let healed = false
  const { pool, processor, stored } = await setup(t, () =>
    healed
      ? null
      : faults++ === 0
        ? new Error('worker died')
        : new DatabaseUnavailableError('down'),
  )
  await t.rejects(redriveDeadLetters(pool, processor), DatabaseUnavailableError)
  const left = await listDeadLetters(pool, { limit: 10 })
  t.equal(left.length, 5, 'every letter stays')
  t.ok(
    left.every((l) => l.attempts === 3),
    'none charged',
  )
  t.notOk((await stored()).includes('poison'))
  healed = true
  t.same(await redriveDeadLetters(pool, processor), { redriven: 5, failed: 0 })
  t.same(await stored(), ['a', 'b', 'c', 'd', 'poison'], 'one row each')
})

t.test('a store step closed under a redrive (the engine stopping) charges no letter', async (t) => {
  const { pool, workers, stored } = await setup(t, () => null)
  await workers.close()
  await t.rejects(redriveDeadLetters(pool, workers), StoreClosedError)
  const left = await listDeadLetters(pool, { limit: 10 })
  t.ok(left.length === 5 && left.every((l) => l.attempts === 3), 'every letter stays, none charged')
  t.same(await stored(), [])
})

// The one-shot command's path (sluice dlq retry): the store step on this thread. A database that
// refuses Sluice's writes (here read-only) is no letter's fault: nothing is charged.
t.test('in-process, a database refusing writes fails the redrive, charging none', async (t) => {
  const { pool, url } = await setup(t, () => null)
  const readOnly = new pg.Pool({
    connectionString: url,
    max: 1,
    options: '-c default_transaction_read_only=on',
  })
  t.teardown(() => readOnly.end())
  await t.rejects(redriveDeadLetters(readOnly, inProcessStore(readOnly)), DatabaseUnavailableError)
  const left = await listDeadLetters(pool, { limit: 10 })
  t.equal(left.length, 5, 'every letter stays')
  t.ok(
    left.every((l) => l.attempts === 3),
    'none charged',
  )
})

failOnLeaks(t)
