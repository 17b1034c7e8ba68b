import t from 'tap'
import { WorkerPool } from '../workers/pool.js'
import type { WebhookEvent } from '../src/event.js'
import { storingDatabase } from './helpers/pg.js'
import { failOnLeaks } from './helpers/leaks.js'

function event(i: number): WebhookEvent {
  return {
    id: `wp-${i}`,
    source: i % 2 ? 'github' : 'stripe',
    receivedAt: Date.now(),
    contentType: 'application/json',
    headers: i % 2 ? { 'x-github-event': 'push' } : {},
    body: Buffer.from(JSON.stringify({ i, type: 'charge.succeeded', pad: 'x'.repeat(i) })),
    verifiedBy: i % 2 ? 'github' : 'stripe',
  }
}

t.test('worker pool stores batches end to end', async (t) => {
  const { pool, workers } = await storingDatabase(t, 'sluice_workers', 2)

  const events = Array.from({ length: 500 }, (_, i) => event(i))
  const batches = [events.slice(0, 250), events.slice(250)]
  const results = (await Promise.all(batches.map((b) => workers.run(b)))).flat()
  t.equal(results.length, 500)
  t.ok(
    results.every((r) => r.ok && r.inserted),
    'every event inserted',
  )
  t.ok(
    results.every((r) => r.processedAt >= events[0]!.receivedAt),
    'processedAt reported',
  )

  const again = await workers.run(events.slice(0, 10))
  t.ok(
    again.every((r) => r.ok && !r.inserted),
    'redelivery is a duplicate, not a new row',
  )

  const { rows } = await pool.query(
    `SELECT count(*)::int AS n, count(*) FILTER (WHERE type = 'push')::int AS push,
            count(*) FILTER (WHERE type = 'charge.succeeded')::int AS stripe FROM events`,
  )
  t.same(rows[0], { n: 500, push: 250, stripe: 250 })
  // The bodies cross in one moved buffer, packed end to end: each row must hold its own bytes
  // and not a neighbour's (an offset off by one event would shift them all).
  const stored = await pool.query<{ id: string; body: Buffer }>('SELECT id, body FROM events')
  const byId = new Map(events.map((e) => [e.id, e.body]))
  t.ok(
    stored.rows.every((r) => Buffer.compare(r.body, byId.get(r.id)!) === 0),
    'every body crossed the thread byte for byte',
  )

  t.same(await workers.run([]), [])
  t.equal(workers.pending, 0)
  const closing = workers.close()
  t.equal(workers.close(), closing, 'close() twice returns the same promise')
  await closing
  await t.rejects(workers.run(events), /closed/)
})

// The densest JSON there is, `[{},{},…]`, starting with a string jsonb refuses (\u0000): Postgres
// refuses the batch at once, so the store thread parses every body itself (checkedInJs), about
// 21 bytes of heap per byte of this one.
function denseBody(bytes: number): Buffer {
  const head = '["\\u0000"'
  return Buffer.from(head + ',{}'.repeat(Math.floor((bytes - head.length - 1) / 3)) + ']')
}

t.test(
  'a store thread parses the densest body of SLUICE_MAX_BODY within its heap limit',
  async (t) => {
    const { pool, workers } = await storingDatabase(t, 'sluice_workers_heap', 1)
    const dense = { ...event(1), id: 'dense', body: denseBody(2 ** 20) }
    t.ok(dense.body.length <= 2 ** 20)
    const results = await workers.run([dense, event(2)])
    t.ok(
      results.every((r) => r.ok && r.inserted),
      'both stored',
    )
    const { rows } = await pool.query<{ body: Buffer; payload: unknown }>(
      `SELECT body, payload FROM events WHERE id = 'dense'`,
    )
    t.equal(rows[0]?.payload, null, 'without the payload jsonb refused')
    t.ok(rows[0]?.body.equals(dense.body), 'with its bytes')

    // Sixteen times the body the pool was sized for (from the sources its threads have room for
    // tap's loader too, src/heap-tuning.ts): the limit is there, and ends the thread (the
    // consumer then splits the batch to the event that did it) instead of growing the engine.
    const huge = { ...event(3), id: 'huge', body: denseBody(16 * 2 ** 20) }
    await t.rejects(workers.run([huge]), { code: 'ERR_WORKER_OUT_OF_MEMORY' })
    const after = await workers.run([event(4)])
    t.ok(after[0]?.ok, 'the pool stores on with a new thread')
  },
)

t.test('options are checked', async (t) => {
  t.throws(() => new WorkerPool({ connectionString: '' }), /options.connectionString/)
  t.throws(
    () => new WorkerPool({ connectionString: 'postgres://x', threads: 0 }),
    /options.threads/,
  )
  t.throws(
    () => new WorkerPool({ connectionString: 'postgres://x', connectionsPerThread: 1.5 }),
    /options.connectionsPerThread/,
  )
})

failOnLeaks(t)
