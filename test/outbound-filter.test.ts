import t from 'tap'
import { InvalidRequest, parse } from '../src/admin/route-kit.js'
import { subscriptionCreate } from '../src/api/subscription-input.js'
import { replay } from '../src/db/replay.js'
import { patchSubscription } from '../src/db/subscriptions.js'
import { dispatchDb, type DispatchDb } from './helpers/dispatch.js'
import { failOnLeaks } from './helpers/leaks.js'

let db: DispatchDb
t.before(async () => {
  db = await dispatchDb('sluice_outbound_filter')
})

const url = 'https://receiver.example/hook'
let n = 0
/** Stores each body as an event and answers which of them got a delivery for the filter. */
async function matching(filter: Record<string, unknown>, bodies: string[]): Promise<number[]> {
  const type = `filter.${++n}`
  const sub = await db.subscribe({ url: `${url}/${n}`, eventTypes: [type], filter })
  await db.store(
    bodies.map((b, i) => ({
      id: `${type}.${i}`,
      body: Buffer.from(b.replace('$TYPE', type)),
      contentType: b.startsWith('{') ? 'application/json' : 'text/plain',
      headers: { 'x-event-type': type },
    })),
  )
  const { rows } = await db.pool.query<{ event_id: string }>(
    'SELECT event_id FROM deliveries WHERE subscription_id = $1 ORDER BY event_id',
    [sub.id],
  )
  return rows.map((r) => Number(r.event_id.split('.').at(-1))).sort((a, b) => a - b)
}

const event = (data: object) => JSON.stringify({ type: '$TYPE', ...data })

t.test('every operator, on the JSON body, when the deliveries are made', async (t) => {
  const bodies = [
    event({ data: { amount: 500, currency: 'eur', tags: ['vip', 'new'] } }),
    event({ data: { amount: 1500, currency: 'usd', tags: [] } }),
    event({ data: { amount: '1500', currency: null } }),
    event({ data: { items: [{ sku: 'a-1' }, { sku: 'b-2' }] } }),
    event({}),
  ]
  const cases: [string, Record<string, unknown>, number[]][] = [
    ['a literal is equality', { 'data.currency': 'eur' }, [0]],
    ['$eq', { 'data.amount': { $eq: 1500 } }, [1]],
    ['numbers and strings are different values', { 'data.amount': '1500' }, [2]],
    ['$ne matches a missing field or another type', { 'data.amount': { $ne: 1500 } }, [0, 2, 3, 4]],
    ['$gt', { 'data.amount': { $gt: 500 } }, [1]],
    ['$gte', { 'data.amount': { $gte: 500 } }, [0, 1]],
    ['$lt and $lte together', { 'data.amount': { $gt: 100, $lte: 500 } }, [0]],
    ['$in', { 'data.currency': { $in: ['usd', 'gbp'] } }, [1]],
    ['$nin', { 'data.currency': { $nin: ['eur'] } }, [1, 2, 3, 4]],
    ['$exists true', { 'data.amount': { $exists: true } }, [0, 1, 2]],
    ['$exists false', { 'data.amount': { $exists: false } }, [3, 4]],
    ['$prefix', { 'data.items.sku': { $prefix: 'b-' } }, [3]],
    ['null matches a JSON null only', { 'data.currency': null }, [2]],
    ['a path through an array looks into each element', { 'data.tags': 'vip' }, [0]],
    ['$or', { $or: [{ 'data.currency': 'eur' }, { 'data.amount': { $gt: 1000 } }] }, [0, 1]],
    [
      '$and inside $or, and $not',
      {
        $or: [
          { $and: [{ 'data.amount': { $lt: 1000 } }, { 'data.tags': 'new' }] },
          { $not: { data: { $exists: true } } },
        ],
      },
      [0, 4],
    ],
    ['keys of one object must all hold', { 'data.currency': 'usd', 'data.amount': 500 }, []],
    ['the empty filter takes every JSON body', {}, [0, 1, 2, 3, 4]],
  ]
  for (const [name, filter, want] of cases) {
    t.same(await matching(filter, bodies), want, name)
  }
})

t.test('a body that is not JSON matches no filter; without one it is delivered', async (t) => {
  const bodies = ['plain text, not json', event({ a: 1 })]
  t.same(
    await matching({ a: { $exists: false } }, bodies),
    [],
    'not even one that asks for absence',
  )
  const type = `filter.${++n}`
  const open = await db.subscribe({ url: `${url}/open`, eventTypes: [type] })
  await db.store([
    {
      id: 'plain',
      body: Buffer.from('x'),
      contentType: 'text/plain',
      headers: { 'x-event-type': type },
    },
  ])
  const { rowCount } = await db.pool.query('SELECT 1 FROM deliveries WHERE subscription_id = $1', [
    open.id,
  ])
  t.equal(rowCount, 1)
})

t.test('replays apply the subscription current filter', async (t) => {
  const type = `filter.${++n}`
  const sub = await db.subscribe({ url: `${url}/replay`, eventTypes: [type], filter: { n: 1 } })
  await db.store(
    [1, 2, 3].map((i) => ({
      id: `r${i}`,
      body: Buffer.from(JSON.stringify({ type, n: i })),
      headers: { 'x-event-type': type },
    })),
  )
  await patchSubscription(db.pool, db.box, sub.id, { filter: { n: { $gte: 2 } } })
  t.same(await replay(db.pool, { subscriptionId: sub.id }, false), { count: 2 })
  const { rows } = await db.pool.query<{ event_id: string; generation: number }>(
    'SELECT event_id, generation FROM deliveries WHERE subscription_id = $1 ORDER BY generation, event_id',
    [sub.id],
  )
  t.same(rows, [
    { event_id: 'r1', generation: 0 },
    { event_id: 'r2', generation: 1 },
    { event_id: 'r3', generation: 1 },
  ])
})

t.test('a malformed filter is refused, naming the path', async (t) => {
  const refused = (filter: unknown) => {
    try {
      parse(subscriptionCreate, { url, filter })
      return 'accepted'
    } catch (err) {
      if (!(err instanceof InvalidRequest)) throw err
      return err.message
    }
  }
  t.match(
    refused({ amount: { $gt: 5, $foo: 1 } }),
    /^filter\.amount\.\$foo: unknown operator \$foo; allowed: \$eq/,
  )
  t.match(
    refused({ $or: [{ a: 1 }, { b: { $in: [] } }] }),
    /^filter\.\$or\[1\]\.b\.\$in: must be an array of 1 to 100/,
  )
  t.match(refused({ $or: { a: 1 } }), /^filter\.\$or: must be an array/)
  t.match(refused({ $not: [] }), /^filter\.\$not: must be a filter object/)
  t.match(refused({ $where: 'x' }), /^filter\.\$where: unknown operator/)
  t.match(refused({ a: [1, 2] }), /^filter\.a: an array is no literal: use \$in/)
  t.match(refused({ a: { b: 1 } }), /^filter\.a: an object here holds operators .* \(a\.b\)/)
  t.match(refused({ 'a..b': 1 }), /^filter\.a\.\.b: is not a path/)
  t.match(refused({ a: { $gt: true } }), /^filter\.a\.\$gt: must be a number or a string/)
  t.match(refused({ a: { $exists: 1 } }), /^filter\.a\.\$exists: must be true or false/)
  t.match(refused({ a: 'x\ud800y' }), /^filter\.a: a string may not hold NUL or a lone surrogate/)
  t.match(refused('x'), /^filter: must be an object/)
  t.match(refused({ a: { $in: Array(101).fill(1) } }), /must be an array of 1 to 100/)
  t.equal(refused({ a: { $in: [1, 'x', null, true] }, $not: { b: { $prefix: 'q' } } }), 'accepted')
})

failOnLeaks(t, { closeFirst: () => db.drop() })
