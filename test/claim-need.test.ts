import t from 'tap'
import type pg from 'pg'
import { ClaimNeed } from '../src/dispatcher/claim-need.js'
import { handOver, type LeaseOffer } from '../src/dispatcher/first-leases.js'
import type { StorableEvent } from '../src/event.js'
import { storeBatchLeasing } from '../workers/insert.js'
import { dispatchDb, receiver, testDispatcher, type DispatchDb } from './helpers/dispatch.js'
import { failOnLeaks } from './helpers/leaks.js'
import { until } from './helpers/wait.js'

// When a result write is followed by a claim (src/dispatcher/claim-need.ts). The dispatcher below
// has no LISTEN, a poll far beyond the test and leases that end far beyond it (its next-due wake
// cannot fire in the test either), so what it claims, it claims because of a write.

let db: DispatchDb
t.before(async () => {
  db = await dispatchDb('sluice_claim_need')
})

/** The test's pool, counting the dispatcher's claims (the only statement with `chosen AS`). */
function counting(pool: pg.Pool) {
  const counter = { claims: 0 }
  const query = ((text: unknown, ...rest: unknown[]) => {
    if (typeof text === 'string' && text.includes('chosen AS')) counter.claims++
    return (pool.query as (...a: unknown[]) => unknown)(text, ...rest)
  }) as pg.Pool['query']
  const wrapped = new Proxy(pool, {
    get: (target, p) => (p === 'query' ? query : (Reflect.get(target, p, target) as unknown)),
  })
  return { pool: wrapped, counter }
}

const event = (id: string): StorableEvent => ({
  id,
  source: 'default',
  receivedAt: Date.now(),
  contentType: 'application/json',
  headers: {},
  body: Buffer.from(`{"type":"need","id":"${id}"}`),
  verifiedBy: null,
})

t.test('claims after a write only where deliveries may wait for its room', async (t) => {
  const rx = await receiver()
  t.teardown(() => rx.close())
  const sub = await db.subscribe({ url: rx.url('/need'), eventTypes: ['need'], maxInFlight: 1 })
  await db.store(['w1', 'w2', 'w3'].map(event))
  const { pool, counter } = counting(db.pool)
  let offers = 0
  let last: LeaseOffer | null = null
  const d = testDispatcher(t, db, {
    pool,
    listen: null,
    pollMs: 600_000,
    timeoutMs: 3000,
    leaseMarginMs: 600_000,
    offerLeases: (o) => {
      offers++
      last = o
    },
  })
  await d.start()
  // One at a time (max_in_flight 1): the second and third go only if each write claims them.
  await until('three delivered', () => rx.received.length === 3, 30_000)
  const succeeded = async (n: number) =>
    (
      await db.pool.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM deliveries WHERE subscription_id = $1 AND status = 'succeeded'`,
        [sub.id],
      )
    ).rows[0]!.n === n
  await until('three recorded', () => succeeded(3))
  // After the third write a claim found nothing left: from here nothing waits.
  await until('an offer with room', () => last?.subscriptions.includes(sub.id) === true)
  const o: LeaseOffer = last!
  const claims = counter.claims
  const stored = await storeBatchLeasing(db.pool, [event('w4')], o)
  t.equal(stored.leased.length, 1, 'the fourth is leased at store')
  const before = offers
  d.handed(handOver(o.owner, Date.now(), stored.leased, [event('w4')]))
  await until('the fourth delivered', () => rx.received.length === 4, 30_000)
  await until('recorded', () => succeeded(4))
  // The hand-over offers once; the write offers again, after a claim if it ran one.
  await until('the offer after the write', () => offers >= before + 2)
  t.equal(counter.claims, claims, 'its write ran no claim: nothing could be waiting')
  t.equal(rx.received.length, 4, 'each delivered once')
})

t.test('no room is offered to new deliveries while a claim left older ones waiting', async (t) => {
  const rx = await receiver()
  t.teardown(() => rx.close())
  const sub = await db.subscribe({ url: rx.url('/wait'), eventTypes: ['wait'], maxInFlight: 2 })
  const wait = (id: string) => ({ ...event(id), body: Buffer.from('{"type":"wait"}') })
  await db.store(['v1', 'v2', 'v3'].map(wait))
  // Another node attempts v1: of max_in_flight 2 this node may take one at a time, while its
  // lane (2) has room for two. Its lease outlasts the test.
  await db.pool.query(
    `UPDATE deliveries SET lease_owner = gen_random_uuid(), lease_until = now() + interval '1 hour',
       next_attempt_at = now() + interval '1 hour' WHERE subscription_id = $1 AND event_id = 'v1'`,
    [sub.id],
  )
  const offered: boolean[] = []
  const d = testDispatcher(t, db, {
    listen: null,
    pollMs: 600_000,
    timeoutMs: 3000,
    leaseMarginMs: 600_000,
    offerLeases: (o) =>
      void offered.push(rx.received.length < 2 && (o?.subscriptions.includes(sub.id) ?? false)),
  })
  await d.start()
  await until('v2 and v3 delivered', () => rx.received.length === 2, 30_000)
  t.ok(offered.length > 0, 'offers were made meanwhile')
  t.notOk(offered.includes(true), 'none of them offered its room while v3 waited')
})

t.test('the rules, one by one', async (t) => {
  const settled = (more: string[] = [], roomless: string[] = [], cut = false) => {
    const need = new ClaimNeed()
    need.claiming()
    need.claimed(new Set(more), roomless, cut)
    return need
  }
  t.ok(new ClaimNeed().afterWritten(['x'], 0), 'before any claim: claim')
  t.ok(settled(['x']).waits('x'), 'left behind: waits')
  t.ok(settled([], ['x']).waits('x'), 'no room then: may wait')
  t.notOk(settled(['y']).waits('x'), "another's")
  const given = settled()
  given.left(['x'])
  t.ok(given.waits('x'), 'given back (or cut short): waits')
  const failing = new ClaimNeed()
  failing.claiming()
  failing.failed()
  t.ok(failing.afterWritten(['x'], 0), 'after a failed claim: claim')
  t.notOk(settled().afterWritten(['x'], 0), 'a claim left nothing: no claim')
  t.ok(settled(['x']).afterWritten(['x'], 0), 'it reached the cap of the written one: claim')
  t.notOk(settled(['y']).afterWritten(['x'], 0), "another's cap: no claim")
  t.ok(settled([], ['x']).afterWritten(['x'], 0), 'the written one had no room then: claim')
  t.ok(settled([], [], true).afterWritten(['x'], 0), 'the claim was cut or gave back: claim')
  t.ok(settled().afterWritten(['x'], 1), 'an ordered delivery finished: claim')
  const woken = settled()
  woken.maybeDue()
  t.ok(woken.afterWritten(['x'], 0), 'something may be due since: claim')
  const racing = new ClaimNeed()
  racing.claiming()
  t.ok(racing.afterWritten(['x'], 0), 'a write while a claim runs (room it may not see): claim')
  const later = new ClaimNeed()
  later.claiming()
  later.maybeDue()
  later.claimed(new Set(), [], false)
  t.ok(later.afterWritten(['x'], 0), 'a wake during the claim outlives its answer')
})

failOnLeaks(t, { closeFirst: () => db.drop() })
