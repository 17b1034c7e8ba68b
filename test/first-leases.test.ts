import t, { type Test } from 'tap'
import { randomUUID } from 'node:crypto'
import pg from 'pg'
import { handOver, type LeaseOffer } from '../src/dispatcher/first-leases.js'
import type { StorableEvent } from '../src/event.js'
import { releaseLeases } from '../src/db/deliveries.js'
import { storeBatchLeasing } from '../workers/insert.js'
import { dispatchDb, receiver, testDispatcher, type DispatchDb } from './helpers/dispatch.js'
import { failOnLeaks } from './helpers/leaks.js'
import { until } from './helpers/wait.js'

// One database for the file; the leak check closes it before it counts.
let db: DispatchDb
t.before(async () => {
  db = await dispatchDb('sluice_first_leases')
})

const event = (id: string, body: object): StorableEvent => ({
  id,
  source: 'default',
  receivedAt: Date.now(),
  contentType: 'application/json',
  headers: {},
  body: Buffer.from(JSON.stringify(body)),
  verifiedBy: null,
})

const offer = (owner: string, rooms: Record<string, number>, leaseMs = 60_000): LeaseOffer => ({
  owner,
  leaseMs,
  subscriptions: Object.keys(rooms),
  rooms: Object.values(rooms),
  validUntil: Date.now() + 60_000,
})

interface LeaseRow {
  event_id: string
  lease_owner: string | null
  /** Milliseconds from the row's creation to its lease's end and to when it is due. */
  lease_ms: number | null
  due_ms: number
}

const leases = async (subscriptionId: string) =>
  (
    await db.pool.query<LeaseRow>(
      `SELECT event_id, lease_owner,
         (extract(epoch FROM lease_until - created_at) * 1000)::int AS lease_ms,
         (extract(epoch FROM next_attempt_at - created_at) * 1000)::int AS due_ms
       FROM deliveries WHERE subscription_id = $1 ORDER BY event_id`,
      [subscriptionId],
    )
  ).rows

t.test('the store statement leases up to the offered room, within max_in_flight', async (t) => {
  const sub = await db.subscribe({ url: 'http://127.0.0.1:9/a', eventTypes: ['a'], maxInFlight: 3 })
  const owner = randomUUID()
  const events = ['a1', 'a2', 'a3'].map((id) => event(id, { type: 'a' }))
  const stored = await storeBatchLeasing(db.pool, events, offer(owner, { [sub.id]: 2 }))
  t.ok(
    stored.results.every((r) => r.ok && r.inserted),
    'every event stored',
  )
  t.same(
    stored.leased.map((d) => events[d.event]!.id),
    ['a1', 'a2'],
    'the first two, in received order',
  )
  t.ok(
    stored.leased.every((d) => d.subscriptionId === sub.id),
    'of the offered subscription',
  )
  t.equal(stored.unleased, 1, 'the third made without a lease')
  t.same(
    await leases(sub.id),
    [
      { event_id: 'a1', lease_owner: owner, lease_ms: 60_000, due_ms: 60_000 },
      { event_id: 'a2', lease_owner: owner, lease_ms: 60_000, due_ms: 60_000 },
      { event_id: 'a3', lease_owner: null, lease_ms: null, due_ms: 0 },
    ],
    'leased as a claim leases (due again when the lease ends); the other due now',
  )
  // Two leases held now against max_in_flight 3: one more at most, whatever the offer says.
  const more = ['a4', 'a5'].map((id) => event(id, { type: 'a' }))
  const next = await storeBatchLeasing(db.pool, more, offer(randomUUID(), { [sub.id]: 10 }))
  t.equal(next.leased.length, 1, "max_in_flight counts every owner's leases")
  t.equal(next.unleased, 1)
})

t.test('never an ordered delivery, an unoffered subscription, or without an offer', async (t) => {
  const ordered = await db.subscribe({
    url: 'http://127.0.0.1:9/o',
    eventTypes: ['o'],
    ordering: { key: '/customer' },
  })
  const plain = await db.subscribe({ url: 'http://127.0.0.1:9/p', eventTypes: ['o'] })
  const events = [event('o1', { type: 'o', customer: 'c1' }), event('o2', { type: 'o' })]
  const stored = await storeBatchLeasing(db.pool, events, offer(randomUUID(), { [ordered.id]: 5 }))
  // o1 is ordered (it has a key); o2 has no key, so it goes free, and is leased.
  t.same(
    stored.leased.map((d) => [d.subscriptionId, events[d.event]!.id]),
    [[ordered.id, 'o2']],
    'only the ordered subscription was offered, and o1 waits for its chain',
  )
  t.equal(stored.unleased, 3, 'o1 to the ordered one, both to the one nobody offered')
  const none = await storeBatchLeasing(db.pool, [event('o3', { type: 'o' })], null)
  t.same(none.leased, [], 'no offer: nothing leased')
  t.ok(none.results[0]!.ok, 'stored all the same')
  t.same(
    (await leases(plain.id)).map((r) => r.lease_owner),
    [null, null, null],
    'the unoffered subscription has no lease',
  )
})

t.test('other nodes are notified of unleased deliveries only', async (t) => {
  const sub = await db.subscribe({ url: 'http://127.0.0.1:9/n', eventTypes: ['n'] })
  const listener = new pg.Client({ connectionString: db.url })
  await listener.connect()
  t.teardown(() => listener.end())
  const heard: string[] = []
  listener.on('notification', (n) => heard.push(n.payload ?? ''))
  await listener.query('LISTEN sluice_deliveries')
  const all = offer(randomUUID(), { [sub.id]: 5 })
  const leasedOnly = await storeBatchLeasing(db.pool, [event('n1', { type: 'n' })], all)
  t.equal(leasedOnly.leased.length, 1)
  t.equal(leasedOnly.unleased, 0)
  // A notification of ours after it, as a fence: notifications arrive in commit order.
  await db.pool.query(`NOTIFY sluice_deliveries, 'fence 1'`)
  await until('the first fence', () => heard.includes('fence 1'), 10_000, 20)
  t.same(heard, ['fence 1'], 'a statement that leased every delivery it made woke no one')
  await storeBatchLeasing(db.pool, [event('n2', { type: 'n' })], null)
  await db.pool.query(`NOTIFY sluice_deliveries, 'fence 2'`)
  await until('the second fence', () => heard.includes('fence 2'), 10_000, 20)
  t.same(heard, ['fence 1', '', 'fence 2'], 'one with an unleased delivery did')
  // Given back, the leased one is due again: another node may have the room for it.
  await releaseLeases(db.pool, randomUUID(), [leasedOnly.leased[0]!.id])
  await releaseLeases(db.pool, all.owner, [leasedOnly.leased[0]!.id])
  await db.pool.query(`NOTIFY sluice_deliveries, 'fence 3'`)
  await until('the third fence', () => heard.includes('fence 3'), 10_000, 20)
  t.same(
    heard,
    ['fence 1', '', 'fence 2', '', 'fence 3'],
    "giving back a lease wakes every node; another owner's attempt to changes nothing",
  )
})

/** A dispatcher whose offers are kept, with a receiver answering 200. */
async function offering(
  t: Test,
  name: string,
  extra: { maxInFlight?: number; pollMs?: number; listen?: null } = {},
) {
  const rx = await receiver()
  t.teardown(() => rx.close())
  const sub = await db.subscribe({ url: rx.url(`/${name}`), eventTypes: [name], maxInFlight: 10 })
  let last: LeaseOffer | null = null
  // A lease far longer than the test: only the hand-over (or giving it back) can deliver them.
  const d = testDispatcher(t, db, {
    timeoutMs: 3000,
    leaseMarginMs: 600_000,
    offerLeases: (o) => (last = o),
    ...extra,
  })
  await d.start()
  // With maxInFlight 1 the offer holds one subscription only, perhaps an earlier test's.
  const wanted = () => (extra.maxInFlight === 1 || last?.subscriptions.includes(sub.id)) === true
  await until('an offer for the subscription', () => last !== null && wanted())
  return { rx, sub, d, offer: () => last! }
}

t.test('the dispatcher attempts what it is handed, with no claim', async (t) => {
  const { rx, sub, d, offer } = await offering(t, 'h')
  const o = offer()
  t.equal(o.owner, d.owner, "the offer names the dispatcher's lease owner")
  t.equal(o.leaseMs, 603_000, 'its lease: the deadline and the margin')
  const events = ['h1', 'h2'].map((id) => event(id, { type: 'h', id }))
  const stored = await storeBatchLeasing(db.pool, events, o)
  t.equal(stored.leased.length, 2)
  const handed = handOver(o.owner, Date.now(), stored.leased, events)
  d.handed(handed)
  // Twice, as if this node had claimed them again meanwhile: what it attempts is not started again.
  d.handed(handed)
  await until('both delivered', () => rx.received.length >= 2, 30_000)
  t.same(
    rx.received.map((r) => JSON.parse(r.body.toString()) as unknown).sort(),
    [
      { type: 'h', id: 'h1' },
      { type: 'h', id: 'h2' },
    ],
    'with their bodies',
  )
  await until('recorded', async () => {
    const { rows } = await db.pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM deliveries
       WHERE subscription_id = $1 AND status = 'succeeded' AND attempts = 1`,
      [sub.id],
    )
    return rows[0]!.n === 2
  })
  t.equal(rx.received.length, 2, 'each once')
})

t.test("another dispatcher's deliveries are not attempted; their lease ends first", async (t) => {
  const { rx, d, offer } = await offering(t, 's')
  const stale = { ...offer(), owner: randomUUID(), leaseMs: 1500 }
  const events = [event('s1', { type: 's' })]
  const storedAt = Date.now()
  const stored = await storeBatchLeasing(db.pool, events, stale)
  t.equal(stored.leased.length, 1, 'leased to a dispatcher that is gone')
  d.handed(handOver(stale.owner, Date.now(), stored.leased, events))
  // Not before the lease ends (1.5 s), then by this dispatcher's claim: never lost.
  await until('claimed once the lease ended', () => rx.received.length === 1, 60_000)
  t.ok(rx.received[0]!.at >= storedAt + 1000, 'not while the lease ran')
  const attempts = async () =>
    (
      await db.pool.query<{ owner: string }>(
        `SELECT a.owner FROM delivery_attempts a JOIN deliveries d ON d.id = a.delivery_id
         WHERE d.event_id = 's1'`,
      )
    ).rows
  await until('recorded', async () => (await attempts()).length > 0)
  t.same(await attempts(), [{ owner: d.owner }], 'one attempt, by the living dispatcher')
  t.equal(rx.received.length, 1, 'sent once')
})

t.test('handed beyond the room: the rest is given back and claimed', async (t) => {
  const { rx, sub, d, offer } = await offering(t, 'r', { maxInFlight: 1 })
  const events = ['r1', 'r2', 'r3'].map((id) => event(id, { type: 'r' }))
  // As if two batches had used one offer: three leased where one may start.
  const three = { ...offer(), subscriptions: [sub.id], rooms: [3] }
  const stored = await storeBatchLeasing(db.pool, events, three)
  t.equal(stored.leased.length, 3)
  d.handed(handOver(three.owner, Date.now(), stored.leased, events))
  // The lease is 603 s: delivered in time only if the two without room were given back.
  await until('all three delivered', () => rx.received.length === 3, 60_000)
  const done = async () =>
    (
      await db.pool.query<{ attempts: number }>(
        `SELECT attempts FROM deliveries WHERE subscription_id = $1 AND status = 'succeeded'`,
        [sub.id],
      )
    ).rows.map((r) => r.attempts)
  await until('recorded', async () => (await done()).length === 3)
  t.same(await done(), [1, 1, 1], 'each attempted once')
})

t.test('a hand-over too late for its lease is given back and claimed at once', async (t) => {
  // The earlier tests' deliveries (to a closed port) would keep this dispatcher busy and awake.
  await db.pool.query(`UPDATE subscriptions SET status = 'disabled'`)
  // No poll in the test's time and no LISTEN (whose connection wakes it too): only the wake
  // after giving back can claim them in time.
  const { rx, sub, d, offer } = await offering(t, 'late', { pollMs: 600_000, listen: null })
  const events = ['late1', 'late2'].map((id) => event(id, { type: 'late' }))
  const o = offer()
  const stored = await storeBatchLeasing(db.pool, events, o)
  t.equal(stored.leased.length, 2)
  // Taken 400 s ago: past half the 600 s margin, so its lease may end before an attempt would.
  d.handed(handOver(o.owner, Date.now() - 400_000, stored.leased, events))
  await until('both delivered', () => rx.received.length === 2, 30_000)
  const { rows } = await db.pool.query<{ lease_ms: number }>(
    `SELECT (extract(epoch FROM d.next_attempt_at - a.attempted_at) * 1000)::int AS lease_ms
     FROM deliveries d JOIN delivery_attempts a ON a.delivery_id = d.id
     WHERE d.subscription_id = $1`,
    [sub.id],
  )
  t.ok(rows.length <= 2 && rows.every((r) => r.lease_ms < 603_000), 'leased again by a claim')
})

failOnLeaks(t, { closeFirst: () => db.drop() })
