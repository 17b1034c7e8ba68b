import t, { type Test } from 'tap'
import { claimDue } from '../src/db/deliveries.js'
import { recordResults, type DeliveryResult } from '../src/db/delivery-results.js'
import { registry } from '../src/metrics.js'
import {
  dispatchDb,
  receiver,
  type DispatchDb,
  testDispatcher,
  type DispatcherOptions,
} from './helpers/dispatch.js'
import { failOnLeaks } from './helpers/leaks.js'
import { until } from './helpers/wait.js'

const A = '00000000-0000-4000-8000-00000000000a'
const B = '00000000-0000-4000-8000-00000000000b'

let db: DispatchDb
t.before(async () => {
  db = await dispatchDb('sluice_dispatch_lease')
})

const dispatcher = (t: Test, extra: Partial<DispatcherOptions> = {}) =>
  testDispatcher(t, db, { timeoutMs: 3000, ...extra })

const result = (id: string, subscriptionId: string): DeliveryResult => ({
  id,
  subscriptionId,
  status: 'succeeded',
  nextAttemptAt: null,
  effect: 'success',
  attemptedAt: new Date(),
  durationMs: 5,
  statusCode: 200,
  error: null,
  message: null,
  excerpt: '',
  truncated: false,
})

t.test(
  'the claim: an expired lease returns the delivery; the stale owner cannot record',
  async (t) => {
    const sub = await db.subscribe({ url: 'http://127.0.0.1:9/x', eventTypes: ['lease.sql'] })
    await db.store([{ id: 'l1', body: Buffer.from('{"type":"lease.sql"}') }])
    const rooms = new Map([[sub.id, 10]])
    const claim = async (owner: string, leaseMs: number) =>
      (await claimDue(db.pool, { owner, leaseMs, rooms, exclude: [], limit: 10 })).deliveries
    // Long enough that B's first claim, right after, cannot land past it on a loaded machine.
    const first = await claim(A, 3000)
    t.equal(first.length, 1, 'A leases it')
    t.same(await claim(B, 60_000), [], 'B cannot while the lease runs')
    await until('the lease expired', async () => (await claim(B, 60_000)).length === 1, 30_000, 50)
    const stale = await recordResults(db.pool, A, 'test', [result(first[0]!.id, sub.id)], 120)
    t.equal(stale.recorded.size, 0, "A's late result is discarded")
    const fresh = await recordResults(db.pool, B, 'test', [result(first[0]!.id, sub.id)], 120)
    t.same([...fresh.recorded], [first[0]!.id], "B's result is recorded")
    const again = await recordResults(db.pool, B, 'test', [result(first[0]!.id, sub.id)], 120)
    t.equal(again.recorded.size, 0, 'and never twice')
    const log = await db.pool.query('SELECT owner FROM delivery_attempts WHERE delivery_id = $1', [
      first[0]!.id,
    ])
    t.same(log.rows, [{ owner: B }], 'one attempt row, by B')
  },
)

t.test('the claim: retries and first attempts share the room, neither starves', async (t) => {
  const sub = await db.subscribe({
    url: 'http://127.0.0.1:9/s',
    eventTypes: ['share'],
    maxInFlight: 100,
  })
  await db.store(
    Array.from({ length: 20 }, (_, i) => ({ id: `sh${i}`, body: Buffer.from('{"type":"share"}') })),
  )
  // Half of them have failed once already and are due again, older than the new ones.
  await db.pool.query(
    `UPDATE deliveries SET attempts = 1, next_attempt_at = now() - interval '1 minute'
     WHERE subscription_id = $1 AND event_id IN (${Array.from({ length: 10 }, (_, i) => `'sh${i}'`).join(',')})`,
    [sub.id],
  )
  const claim = (room: number) =>
    claimDue(db.pool, {
      owner: A,
      leaseMs: 60_000,
      rooms: new Map([[sub.id, room]]),
      exclude: [],
      limit: 100,
    })
  const mixed = await claim(4)
  t.same(
    mixed.deliveries.map((d) => d.attempts).sort(),
    [0, 0, 1, 1],
    'two of each, although the retries are older',
  )
  t.same([...mixed.more], [sub.id], 'the room was reached: some may be left')
  const rest = await claim(100)
  t.same(
    rest.deliveries.map((d) => d.attempts).sort(),
    [...Array<number>(8).fill(0), ...Array<number>(8).fill(1)],
    'with room for all, all',
  )
  t.same([...rest.more], [], 'with room to spare, none is left')
  const none = await claim(1)
  t.same(none.deliveries, [], 'nothing is due any more')
  t.same([...none.more], [], 'and nothing is left')
  // Three of each kind due again: each scan finds all three of its kind under a cap of 4, yet
  // the four chosen leave two.
  await db.pool.query(
    `UPDATE deliveries SET lease_owner = NULL, lease_until = NULL, next_attempt_at = now()
     WHERE id IN (SELECT id FROM deliveries WHERE subscription_id = $1 AND attempts = 0 LIMIT 3)
        OR id IN (SELECT id FROM deliveries WHERE subscription_id = $1 AND attempts = 1 LIMIT 3)`,
    [sub.id],
  )
  const six = await claim(4)
  t.equal(six.deliveries.length, 4, 'four of the six')
  t.same([...six.more], [sub.id], 'two are left, and the claim says so')
})

t.test(
  'the claim: max_in_flight across owners leaves deliveries behind, and says so',
  async (t) => {
    const sub = await db.subscribe({
      url: 'http://127.0.0.1:9/m',
      eventTypes: ['cap'],
      maxInFlight: 2,
    })
    await db.store(
      Array.from({ length: 3 }, (_, i) => ({ id: `cap${i}`, body: Buffer.from('{"type":"cap"}') })),
    )
    const claim = (owner: string) =>
      claimDue(db.pool, {
        owner,
        leaseMs: 60_000,
        rooms: new Map([[sub.id, 10]]),
        exclude: [],
        limit: 10,
      })
    const a = await claim(A)
    t.equal(a.deliveries.length, 2, 'A takes max_in_flight, not its room')
    t.same([...a.more], [sub.id], 'the third is left, and the claim says so')
    const b = await claim(B)
    t.same(b.deliveries, [], "B finds no room under A's leases")
    t.same([...b.more], [sub.id], 'nor does it call the subscription done')
  },
)

t.test("the claim: an event's deliveries share one copy of its body", async (t) => {
  const subs = await Promise.all(
    [1, 2, 3].map((i) => db.subscribe({ url: `http://127.0.0.1:9/b${i}`, eventTypes: ['body'] })),
  )
  const big = Buffer.from(JSON.stringify({ type: 'body', pad: 'x'.repeat(256 * 1024) }))
  const small = Buffer.from('{"type":"body","n":2}')
  await db.store([
    { id: 'body-big', body: big },
    { id: 'body-small', body: small },
    { id: 'body-gone', body: Buffer.from('{"type":"body","n":3}') },
  ])
  // Retention dropped this event's row after its deliveries were made.
  await db.pool.query("DELETE FROM events WHERE id = 'body-gone'")
  const { deliveries: claimed } = await claimDue(db.pool, {
    owner: A,
    leaseMs: 60_000,
    rooms: new Map(subs.map((s) => [s.id, 10])),
    exclude: [],
    limit: 100,
  })
  t.equal(claimed.length, 9, 'three events to three subscriptions')
  const of = (id: string) => claimed.filter((d) => d.eventId === id)
  t.same(
    ['body-big', 'body-small', 'body-gone'].map((id) => of(id).length),
    [3, 3, 3],
    'three deliveries of each event',
  )
  const bigs = of('body-big')
  t.ok(
    bigs.every((d) => d.body?.equals(big)),
    'each delivery carries its event body, exactly',
  )
  t.ok(
    bigs.every((d) => d.body === bigs[0]!.body),
    'one Buffer for all of them, not a copy per delivery',
  )
  t.ok(
    of('body-small').every((d) => d.body?.equals(small)),
    'the other event keeps its own body',
  )
  t.ok(
    of('body-gone').every((d) => d.body === null),
    'an event whose row is gone has no body on any of its deliveries',
  )
  t.equal(new Set(claimed.map((d) => d.subscriptionId)).size, 3, 'every subscription got its own')
})

const staleCount = async () => {
  const m = await registry.getSingleMetric('sluice_deliveries_total')?.get()
  return m?.values.find((v) => v.labels.outcome === 'stale')?.value ?? 0
}

t.test('a dispatcher whose lease passed on: its result is discarded', async (t) => {
  let first = true
  const hung: (() => void)[] = []
  const rx = await receiver((_r, res) => {
    if (first) {
      first = false
      hung.push(() => res.destroy()) // the first attempt hangs until the end of the test
    } else res.end('ok')
  })
  t.teardown(async () => {
    for (const h of hung) h()
    await rx.close()
  })
  await db.subscribe({ url: rx.url(), eventTypes: ['lease.e2e'] })
  // A gives up only after B has had time to start and claim; before that, nobody else holds the
  // delivery and A's result would rightly stand.
  const a = dispatcher(t, { timeoutMs: 8000 })
  await a.start()
  const before = await staleCount()
  await db.store([{ id: 'l2', body: Buffer.from('{"type":"lease.e2e"}') }])
  await until('A is attempting', () => rx.received.length === 1, 20_000)
  // A's lease "expires" (as if A's node stalled past it): B may take the delivery.
  await db.pool.query(
    `UPDATE deliveries SET lease_until = now(), next_attempt_at = now() WHERE event_id = 'l2'`,
  )
  const b = dispatcher(t)
  await b.start()
  await until('B delivered', () => rx.received.length === 2, 20_000)
  await until(
    'A gave up and its result was judged stale',
    async () => (await staleCount()) > before,
  )
  const row = await db.pool.query(
    `SELECT status, attempts, lease_owner FROM deliveries WHERE event_id = 'l2'`,
  )
  t.match(
    row.rows[0],
    { status: 'succeeded', attempts: 1, lease_owner: null },
    "B's success stands",
  )
  const log = await db.pool.query(
    `SELECT a.owner, a.status_code FROM delivery_attempts a JOIN deliveries d ON d.id = a.delivery_id
     WHERE d.event_id = 'l2'`,
  )
  t.same(log.rows, [{ owner: b.owner, status_code: 200 }], "only B's attempt is logged")
})

t.test('two dispatchers on one database never attempt one delivery at once', async (t) => {
  const N = Number(process.env.LEASE_EVENTS ?? 400)
  const active = new Map<string, number>()
  const requests = new Map<string, number>()
  let overlaps = 0
  const rx = await receiver((r, res) => {
    const id = String(r.headers['webhook-id'])
    const now = (active.get(id) ?? 0) + 1
    if (now > 1) overlaps++
    active.set(id, now)
    requests.set(id, (requests.get(id) ?? 0) + 1)
    // In flight until answered, or until the dispatcher gave up on it (its timeout closed the
    // connection: on a starved machine this answer can come late), after which a retry is due.
    let over = false
    const done = () => {
      if (over) return
      over = true
      active.set(id, active.get(id)! - 1)
    }
    res.once('close', done)
    // Some fail once so retries race with first attempts too; answers take a little while.
    const fail = requests.get(id) === 1 && Math.random() < 0.2
    setTimeout(() => {
      done()
      res.statusCode = fail ? 500 : 200
      res.end()
    }, Math.random() * 50)
  })
  t.teardown(() => rx.close())
  await db.subscribe({ url: rx.url(), eventTypes: ['pair'], maxInFlight: 1000 })
  const one = dispatcher(t)
  const two = dispatcher(t)
  await Promise.all([one.start(), two.start()])
  for (let i = 0; i < N; i += 50) {
    const batch = Array.from({ length: Math.min(50, N - i) }, (_, j) => ({
      id: `p${i + j}`,
      body: Buffer.from('{"type":"pair"}'),
    }))
    await db.store(batch)
  }
  await until(
    'every delivery succeeded',
    async () =>
      (
        await db.pool.query(
          `SELECT 1 FROM deliveries WHERE event_id LIKE 'p%' AND status = 'succeeded'`,
        )
      ).rowCount === N,
    120_000,
    100,
  )
  t.equal(overlaps, 0, 'no delivery was ever in flight twice at the same time')
  const owners = await db.pool.query<{ owner: string; n: number }>(
    `SELECT a.owner, count(*)::int AS n FROM delivery_attempts a JOIN deliveries d
       ON d.id = a.delivery_id WHERE d.event_id LIKE 'p%' GROUP BY 1`,
  )
  t.equal(owners.rowCount, 2, 'both dispatchers delivered')
  const retried = [...requests.values()].filter((n) => n > 1).length
  t.ok(retried > 0, `some were retried (${retried}), so retries raced with first attempts`)
  t.comment(`attempts per dispatcher: ${owners.rows.map((r) => r.n).join(' / ')}`)
})

failOnLeaks(t, { closeFirst: () => db.drop() })
