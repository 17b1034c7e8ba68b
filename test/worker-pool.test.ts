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
