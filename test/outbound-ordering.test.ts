import t from 'tap'
import { randomBytes } from 'node:crypto'
import { getDelivery, retryDelivery } from '../src/db/delivery-queries.js'
import { replay } from '../src/db/replay.js'
import { dispatchDb, receiver, type DispatchDb, testDispatcher } from './helpers/dispatch.js'
import { failOnLeaks } from './helpers/leaks.js'
import { orderedReceiver, type OrderedBody as Body } from './helpers/ordered-receiver.js'
import { until } from './helpers/wait.js'

let db: DispatchDb
t.before(async () => {
  db = await dispatchDb('sluice_outbound_ordering')
})

const store = (type: string, bodies: Body[], gen0 = Date.now() - 60_000) =>
  db.store(
    bodies.map((b, i) => ({
      id: `${type}-${b.customer ?? 'none'}-${b.seq}`,
      // Receipt order is the order given (a millisecond apart), whatever order rows come in.
      receivedAt: gen0 + i,
      body: Buffer.from(JSON.stringify({ type, ...b })),
    })),
  )

t.test('one at a time per key, in receipt order; a failing key holds only itself', async (t) => {
  let stuck = true
  const { rx, violations, delivered } = await orderedReceiver(
    (b) => b.customer === 'stuck' && stuck,
  )
  t.teardown(() => rx.close())
  const sub = await db.subscribe({
    url: rx.url(),
    eventTypes: ['ord'],
    ordering: { key: '/customer' },
    maxInFlight: 10,
  })
  // The pipeline's watermark: nothing received after it is known to be stored yet.
  const first = Date.now() - 60_000
  let watermark = first
  await testDispatcher(t, db, {
    schedule: Array(30).fill(1),
    watermark: () => Promise.resolve(watermark),
  }).start()
  const bodies: Body[] = []
  for (let seq = 0; seq < 15; seq++) {
    for (const customer of ['a', 'b', 'c', 'stuck']) bodies.push({ customer, seq })
    bodies.push({ seq }) // no key: not ordered
  }
  // Stored in two batches, the later-received one first (as two workers may): until the
  // watermark passes them, ordered deliveries wait unlinked, so the chain follows receipt.
  await store('ord', bodies.slice(40), first + 30_000)
  await until('the unordered ones of the later batch went', async () => delivered.length >= 7)
  t.same(
    delivered.filter((b) => b.customer !== undefined),
    [],
    'no ordered one before the watermark passed it',
  )
  await store('ord', bodies.slice(0, 40), first)
  watermark = Date.now()
  const of = (customer: string | undefined) => delivered.filter((b) => b.customer === customer)
  await until('a, b and c all delivered', async () =>
    ['a', 'b', 'c'].every((c) => of(c).length === 15),
  )
  t.same(of('stuck'), [], 'the failing key got nothing through')
  for (const c of ['a', 'b', 'c']) {
    t.same(
      of(c).map((b) => b.seq),
      [...Array(15).keys()],
      `${c}: in receipt order`,
    )
  }
  const waiting = await db.pool.query<{ id: string; waiting_for: string }>(
    `SELECT id, waiting_for FROM deliveries WHERE subscription_id = $1 AND status = 'pending'
      AND waiting_for IS NOT NULL ORDER BY received_at LIMIT 1`,
    [sub.id],
  )
  const second = await getDelivery(db.pool, waiting.rows[0]!.id)
  t.match(second, { status: 'pending', orderingKey: '"stuck"', waitingFor: /^\d+$/ })
  const head = await getDelivery(db.pool, second!.waitingFor!)
  t.match(
    head,
    { status: 'pending', orderingKey: '"stuck"', waitingFor: null },
    'it waits for the head',
  )
  t.ok(head!.attempts >= 1, 'which is being tried')
  t.match(
    await retryDelivery(db.pool, second!.id),
    { outcome: 'waiting' },
    'a retry may not send it before its predecessor',
  )

  stuck = false
  await until('the stuck key drains in order', async () => of('stuck').length === 15)
  t.same(
    of('stuck').map((b) => b.seq),
    [...Array(15).keys()],
  )
  await until('the unordered ones too', async () => of(undefined).length === 15)
  t.same(violations, [], 'no event of a key arrived before its predecessor succeeded')
})

t.test('a replay is a chain of its own generation', async (t) => {
  const { rx, violations, delivered } = await orderedReceiver(() => false)
  t.teardown(() => rx.close())
  const sub = await db.subscribe({
    url: rx.url(),
    eventTypes: ['rep'],
    ordering: { key: '/customer' },
  })
  await testDispatcher(t, db, { schedule: Array(30).fill(1) }).start()
  const bodies = Array.from({ length: 20 }, (_, seq) => ({
    customer: `k${seq % 2}`,
    seq: seq >> 1,
  }))
  await store('rep', bodies)
  await until('first delivered', async () => delivered.length === 20)
  const before = delivered.length
  const r = await replay(db.pool, { subscriptionId: sub.id }, false)
  t.same(r, { count: 20 })
  await until('replayed', async () => delivered.length === before + 20)
  const replayed = delivered.slice(before)
  for (const k of ['k0', 'k1']) {
    t.same(
      replayed.filter((b) => b.customer === k).map((b) => b.seq),
      [...Array(10).keys()],
      `${k}: replayed in receipt order`,
    )
  }
  t.same(violations, [], 'one at a time, the replay after the first')
})

t.test('two nodes on one database keep one order per key', async (t) => {
  const { rx, violations, delivered } = await orderedReceiver(() => false)
  t.teardown(() => rx.close())
  await db.subscribe({ url: rx.url(), eventTypes: ['two'], ordering: { key: '/customer' } })
  // Two dispatchers as two nodes would run them: each claims, links and frees on its own.
  await testDispatcher(t, db, { schedule: Array(30).fill(1) }).start()
  await testDispatcher(t, db, { schedule: Array(30).fill(1) }).start()
  const bodies = Array.from({ length: 60 }, (_, i) => ({
    customer: `k${i % 3}`,
    seq: Math.floor(i / 3),
  }))
  await store('two', bodies.slice(0, 30))
  await store('two', bodies.slice(30), Date.now() - 30_000)
  await until(
    'all delivered',
    async () => new Set(delivered.map((b) => `${b.customer}/${b.seq}`)).size === 60,
  )
  for (const k of ['k0', 'k1', 'k2']) {
    const seqs = delivered.filter((b) => b.customer === k).map((b) => b.seq)
    t.same(
      seqs.filter((s, i) => seqs.indexOf(s) === i),
      [...Array(20).keys()],
      `${k} in receipt order`,
    )
  }
  t.same(violations, [], 'never two of a key at once, never one before its predecessor succeeded')
})

t.test(
  'an older event stored late is appended behind the tail and is the tail after',
  async (t) => {
    let holdX = true
    const { rx, violations, delivered } = await orderedReceiver((b) => b.seq === 10 && holdX)
    t.teardown(() => rx.close())
    const sub = await db.subscribe({
      url: rx.url(),
      eventTypes: ['late'],
      ordering: { key: '/customer' },
    })
    await testDispatcher(t, db, { schedule: Array(30).fill(1) }).start()
    const base = Date.now() - 60_000
    const one = (seq: number) =>
      db.store([
        {
          id: `late-${seq}`,
          receivedAt: base + seq * 1000,
          body: Buffer.from(JSON.stringify({ type: 'late', customer: 'k', seq })),
        },
      ])
    const waiting = async () =>
      (
        await db.pool.query<{ event_id: string; before: string | null; linked: boolean }>(
          `SELECT d.event_id, p.event_id AS before, d.waiting_for IS DISTINCT FROM 0 AS linked
             FROM deliveries d LEFT JOIN deliveries p ON p.id = d.waiting_for
          WHERE d.subscription_id = $1 ORDER BY d.id`,
          [sub.id],
        )
      ).rows
    await one(10)
    await until('X is being tried', () => rx.received.length >= 1)
    // Y and Z were received before X but stored after it (another node, a late store): each is
    // appended in its turn, so Z follows Y, not X a second time (that would free both at once).
    await one(5)
    await until('Y linked', async () => (await waiting())[1]?.before === 'late-10')
    await one(7)
    await until('Z linked', async () => (await waiting())[2]?.linked === true)
    t.same(
      (await waiting()).map((w) => [w.event_id, w.before]),
      [
        ['late-10', null],
        ['late-5', 'late-10'],
        ['late-7', 'late-5'],
      ],
      'one chain, no fork',
    )
    holdX = false
    await until('all three delivered', () => delivered.length === 3)
    t.same(
      delivered.map((b) => b.seq),
      [10, 5, 7],
    )
    t.same(
      violations.filter((v) => v.includes('in flight')),
      [],
      'never two at once',
    )
  },
)

t.test('a key longer than an index entry still orders, and stops nothing else', async (t) => {
  const { rx, delivered } = await orderedReceiver(() => false)
  const plain = await receiver()
  t.teardown(() => Promise.all([rx.close(), plain.close()]))
  await db.subscribe({ url: rx.url(), eventTypes: ['long'], ordering: { key: '/customer' } })
  await db.subscribe({ url: plain.url(), eventTypes: ['long'] })
  await testDispatcher(t, db).start()
  // The sender chooses the key: 4,000 characters that do not compress.
  const customer = randomBytes(3000).toString('base64')
  await db.store(
    [0, 1].map((seq) => ({
      id: `long-${seq}`,
      receivedAt: Date.now() - 10_000 + seq,
      body: Buffer.from(JSON.stringify({ type: 'long', customer, seq })),
    })),
  )
  await until('delivered to both', () => delivered.length === 2 && plain.received.length === 2)
  t.same(
    delivered.map((b) => b.seq),
    [0, 1],
    'in order',
  )
  const keys = await db.pool.query<{ n: number }>(
    "SELECT max(length(ordering_key))::int AS n FROM deliveries WHERE event_id LIKE 'long-%'",
  )
  t.ok(keys.rows[0]!.n <= 200, `the key is kept bounded (${keys.rows[0]!.n} characters)`)
})

t.test('a delivery left waiting for one that is done or gone is freed by the sweep', async (t) => {
  const { rx, delivered } = await orderedReceiver(() => false)
  t.teardown(() => rx.close())
  const sub = await db.subscribe({
    url: rx.url(),
    eventTypes: ['orphan'],
    ordering: { key: '/customer' },
  })
  await store('orphan', [
    { customer: 'o', seq: 0 },
    { customer: 'p', seq: 0 },
  ])
  // As a crash between a result's commit and its release leaves them: one waits for a finished
  // delivery, the other for one that retention deleted since.
  const { rows } = await db.pool.query<{ id: string }>(
    'SELECT id FROM deliveries WHERE subscription_id = $1 ORDER BY id',
    [sub.id],
  )
  await db.pool.query(
    `WITH done AS (INSERT INTO deliveries (subscription_id, source, event_id, received_at, status)
       VALUES ($1, 'default', 'finished', now(), 'succeeded') RETURNING id)
     UPDATE deliveries SET waiting_for = CASE WHEN id = $2 THEN (SELECT id FROM done) ELSE 999999999 END
      WHERE id = ANY ($3::bigint[])`,
    [sub.id, rows[0]!.id, rows.map((r) => r.id)],
  )
  // A new dispatcher sweeps on its first claim.
  await testDispatcher(t, db).start()
  await until('both delivered', () => delivered.length === 2)
  t.same(delivered.map((b) => b.customer).sort(), ['o', 'p'])
})

failOnLeaks(t, { closeFirst: () => db.drop() })
