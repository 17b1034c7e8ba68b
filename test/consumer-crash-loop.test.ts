import t, { type Test } from 'tap'
import { spawn } from 'node:child_process'
import pg from 'pg'
import { listDeadLetters } from '../src/db/dead-letters.js'
import { onJsonLines } from '../bench/proc.js'
import { makeEvent, rabbitFixture } from './helpers/broker-fixtures.js'
import { migratedOn } from './helpers/consumer-setup.js'
import { until } from './helpers/wait.js'
import { failOnLeaks } from './helpers/leaks.js'

const child = new URL('./helpers/crash-loop-child.ts', import.meta.url).pathname
const loaderArgs = process.execArgv.filter((a) => a.includes('@tapjs/typescript'))

function runChild(args: string[]) {
  const p = spawn(process.execPath, [...loaderArgs, child, ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  const lines: Record<string, unknown>[] = []
  onJsonLines(p.stdout, (l) => lines.push(l))
  const exited = new Promise<NodeJS.Signals | number | null>((r) =>
    p.once('exit', (code, signal) => r(signal ?? code)),
  )
  return { p, lines, exited }
}

/**
 * Consumers are started until one survives: each death returns the messages to the queue.
 * A consumer has survived once `settled` holds (the end state in the database, the queue empty)
 * and, after that, it says it holds nothing: an `idle` line from before its messages came, or
 * a queue emptied by deliveries it has not stored yet, would stop it with the poison in hand.
 * Returns the number of deaths.
 */
async function untilOneSurvives(t: Test, args: string[], settled: () => Promise<boolean>) {
  let deaths = 0
  for (let round = 1; round <= 10; round++) {
    const c = runChild(args)
    t.teardown(() => {
      if (c.p.exitCode === null && c.p.signalCode === null) c.p.kill('SIGKILL')
    })
    let died = false
    void c.exited.then(() => (died = true))
    await until('the consumer died or settled the messages', async () => {
      if (died) return true
      const seen = c.lines.length
      if (!(await settled())) return false
      await until('it holds nothing', async () => died || c.lines.slice(seen).some((l) => l.idle))
      return true
    })
    if (died) {
      t.equal(await c.exited, 'SIGKILL', `consumer ${round} was killed by the poison event`)
      deaths++
      continue
    }
    c.p.kill('SIGTERM')
    t.equal(await c.exited, 0, `consumer ${round} settled the messages and stopped cleanly`)
    break
  }
  return deaths
}

/** The poison is a dead letter, the other `stored` events are rows and the queue is empty. */
const settledWith =
  (pool: pg.Pool, h: { depth(): Promise<number> }, stored: number) => async () => {
    const { rows } = await pool.query<{ rows: number; letters: number }>(
      `SELECT (SELECT count(*) FROM events WHERE source <> 'sluice')::int AS rows,
        (SELECT count(*) FROM dead_letters)::int AS letters`,
    )
    return rows[0]!.rows === stored && rows[0]!.letters === 1 && (await h.depth()) === 0
  }

/** The end of a crash loop: exactly `stored` in events, no run alone left begun, the queue empty. */
async function storedAllBut(
  t: Test,
  pool: pg.Pool,
  h: { depth(): Promise<number> },
  stored: { id: string }[],
  what: string,
) {
  const { rows } = await pool.query<{ id: string }>(
    "SELECT id FROM events WHERE source <> 'sluice' ORDER BY id",
  )
  t.same(
    rows.map((r) => r.id),
    stored.map((e) => e.id).sort(),
    what,
  )
  const left = await pool.query('SELECT * FROM event_runs_alone')
  t.same(left.rows, [], 'no run alone is left begun')
  t.equal(await h.depth(), 0, 'the messages were acked')
}

/**
 * One event of an envelope kills the engine whenever it is stored (kill -9 of a real process):
 * the message comes back each time with a higher delivery count (a quorum queue counts them).
 * Past SLUICE_MAX_ATTEMPTS the envelope's events are stored one at a time under the crash
 * guard, so the next death names the culprit: it alone is dead-lettered, its mates are stored.
 */
t.test(
  'a crash loop on one message dead-letters the event it dies on, not its mates',
  async (t) => {
    const { db, h, pool } = await migratedOn(t, rabbitFixture, 'sluice_crash_loop')
    const mates = Array.from({ length: 9 }, (_, i) => makeEvent({ id: `mate-${i}` }))
    const events = [...mates.slice(0, 4), makeEvent({ id: 'poison' }), ...mates.slice(4)]
    const publisher = h.make()
    await publisher.start()
    t.same(await publisher.publish(events), Array(events.length).fill(true), 'one envelope')
    await publisher.close()
    t.equal(await h.depth(), 1, 'the ten events travel in one message')

    const args = [JSON.stringify(h.choice()), db.url]
    const deaths = await untilOneSurvives(t, args, settledWith(pool, h, mates.length))
    t.ok(deaths >= 2, `a crash loop: ${deaths} deaths`)
    const letters = await listDeadLetters(pool, { limit: 100 })
    t.same(
      letters.map((l) => l.event.id),
      ['poison'],
      'only the event the engine died on is dead-lettered',
    )
    t.equal(letters[0]?.reason, 'attempts_exhausted')
    t.match(letters[0]?.lastError, /died while storing this event alone/)
    await storedAllBut(t, pool, h, mates, 'its nine envelope-mates are stored, once each')
  },
)

/**
 * The same poison with several batches at once (concurrency 3, one envelope per batch): every
 * prefetched message is redelivered at each death, so several batches become crash-loop
 * batches together. A run alone must be alone in the consumer, not only in its batch: else an
 * innocent event begun in another batch when the poison kills the engine is taken for a
 * culprit too, and dead-lettered unstored.
 */
t.test('run-alone batches that overlap dead-letter only the poison', async (t) => {
  const { db, h, pool } = await migratedOn(t, rabbitFixture, 'sluice_crash_loop_many')
  const envelopes = Array.from({ length: 6 }, (_, m) =>
    Array.from({ length: 4 }, (_, i) => makeEvent({ id: `env-${m}-${i}` })),
  )
  // Second in its envelope: its batch stores one event alone first, while the others run.
  envelopes[0]![1] = makeEvent({ id: 'poison' })
  const publisher = h.make()
  await publisher.start()
  for (const events of envelopes) await publisher.publish(events)
  await publisher.close()
  t.equal(await h.depth(), envelopes.length, 'one message per envelope')

  const options = { concurrency: 3, batchSize: 4 }
  const args = [JSON.stringify(h.choice()), db.url, JSON.stringify(options)]
  const innocent = envelopes.flat().filter((e) => e.id !== 'poison')
  const deaths = await untilOneSurvives(t, args, settledWith(pool, h, innocent.length))
  t.ok(deaths >= 2, `a crash loop: ${deaths} deaths`)
  const letters = await listDeadLetters(pool, { limit: 100 })
  t.same(
    letters.map((l) => l.event.id),
    ['poison'],
    'only the event the engine died on is dead-lettered',
  )
  await storedAllBut(t, pool, h, innocent, 'every innocent event is stored, once')
})

failOnLeaks(t)
