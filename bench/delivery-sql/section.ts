import { randomBytes, randomUUID } from 'node:crypto'
import pg from 'pg'
import { claimDue, releaseLeases } from '../../src/db/deliveries.js'
import { advanceChains } from '../../src/db/ordering.js'
import { migrate } from '../../src/db/migrate.js'
import { upsertSubscription } from '../../src/db/subscriptions.js'
import { SecretBox } from '../../src/util/secret-box.js'
import { generateSecret } from '../../src/outbound/sign.js'
import { storeBatch } from '../../workers/insert.js'
import { freshDatabase } from '../stages/services.js'
import type { BenchContext, BenchSection, SectionResult } from '../types.js'

const WAITING = Number(process.env.BENCH_SQL_WAITING ?? 100_000)
const SUBSCRIPTIONS = Number(process.env.BENCH_SQL_SUBSCRIPTIONS ?? 50)
const BATCH = 100
const ROUNDS = 30

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0
const ms = (n: number) => Math.round(n * 100) / 100

async function timed(rounds: number, fn: () => Promise<unknown>): Promise<number> {
  const took: number[] = []
  for (let i = 0; i < rounds; i++) {
    const started = performance.now()
    await fn()
    took.push(performance.now() - started)
  }
  return median(took)
}

/**
 * The claim with a deep backlog of ordered deliveries waiting behind their keys: 50
 * subscriptions with 20 due deliveries each, and then `WAITING` more that wait (one stuck key of
 * an ordered subscription), which the claim's indexes leave out (migration 0010).
 */
async function claimCost(pool: pg.Pool, box: SecretBox) {
  const subs: string[] = []
  for (let i = 0; i < SUBSCRIPTIONS; i++) {
    const input = { url: `https://r.example/${i}`, ordering: { key: '/k' } }
    subs.push((await upsertSubscription(pool, box, input, generateSecret)).subscription.id)
  }
  await pool.query(
    `INSERT INTO deliveries (subscription_id, source, event_id, received_at)
     SELECT s, 'default', s::text || '-' || g, now() FROM unnest($1::uuid[]) s, generate_series(1, 20) g`,
    [subs],
  )
  const claim = async () => {
    const rooms = new Map(subs.map((s) => [s, 10]))
    const owner = randomUUID()
    const got = await claimDue(pool, { owner, leaseMs: 60_000, rooms, exclude: [], limit: 200 })
    await releaseLeases(
      pool,
      owner,
      got.deliveries.map((d) => d.id),
    )
  }
  await pool.query('ANALYZE deliveries')
  const without = await timed(ROUNDS, claim)
  // One stuck key: a chain of WAITING deliveries, each waiting for the one before.
  await pool.query(
    `INSERT INTO deliveries (subscription_id, source, event_id, received_at, ordering_key, waiting_for)
     SELECT $1, 'default', 'w-' || g, now() - interval '1 hour', '"stuck"', -1
       FROM generate_series(1, $2) g`,
    [subs[0], WAITING],
  )
  await pool.query('UPDATE deliveries SET waiting_for = id - 1 WHERE waiting_for = -1')
  await pool.query('ANALYZE deliveries')
  const withWaiting = await timed(ROUNDS, claim)
  // Linking, beside them: 200 new ordered deliveries of 200 keys of one subscription, each
  // behind the tail its key already has (the last round's), under the chains' lock.
  let round = 0
  const link = async () => {
    round++
    await pool.query(
      `INSERT INTO deliveries (subscription_id, source, event_id, received_at, ordering_key, waiting_for)
       SELECT $1, 'default', 'l-' || $2 || '-' || k, now() - interval '1 minute', '"k' || k || '"', 0
         FROM generate_series(1, 200) k`,
      [subs[1], round],
    )
    const started = performance.now()
    await advanceChains(pool, { done: [], beforeMs: Date.now() })
    return performance.now() - started
  }
  const links: number[] = []
  for (let i = 0; i < ROUNDS; i++) links.push(await link())
  return { without, withWaiting, link: median(links) }
}

/** The workers' store statement for 100 JSON events: no subscription, 50 plain, 50 filtering. */
async function filterCost(pool: pg.Pool, box: SecretBox) {
  let n = 0
  const batch = () =>
    Array.from({ length: BATCH }, () => ({
      id: `e${n++}`,
      source: 'default',
      receivedAt: Date.now(),
      contentType: 'application/json',
      headers: {},
      body: Buffer.from(
        JSON.stringify({ type: 'order.paid', data: { amount: n % 1000, currency: 'eur' } }),
      ),
      verifiedBy: null,
    }))
  const store = () => storeBatch(pool, batch())
  // The claim's subscriptions out of the way: first the statement with none to fan out to.
  await pool.query("UPDATE subscriptions SET status = 'disabled'")
  const none = await timed(ROUNDS, store)
  for (let i = 0; i < SUBSCRIPTIONS; i++) {
    await upsertSubscription(pool, box, { url: `https://f.example/${i}` }, generateSecret)
  }
  const unfiltered = await timed(ROUNDS, store)
  // A filter every event passes, so both runs insert the same deliveries: only its cost differs.
  await pool.query(
    `UPDATE subscriptions SET filter_path = '(exists($."data"."amount" ? (@ >= 0))
       && exists($."data"."currency" ? (@ == "eur" || @ == "usd")))' WHERE status = 'active'`,
  )
  const withFilters = await timed(ROUNDS, store)
  return { none, unfiltered, withFilters }
}

export const deliverySqlSection: BenchSection = {
  name: 'delivery-sql',
  description:
    'the claim with 100,000 waiting ordered deliveries; the store statement with filters',
  async run(ctx: BenchContext): Promise<SectionResult> {
    const db = await freshDatabase('sluice_bench_sql')
    const pool = new pg.Pool({ connectionString: db.url, max: 2 })
    try {
      await migrate(pool)
      const box = new SecretBox(randomBytes(32))
      ctx.log(`claim: ${SUBSCRIPTIONS} subscriptions, then ${WAITING} waiting deliveries`)
      const claim = await claimCost(pool, box)
      ctx.log(
        `store: ${BATCH} events with ${SUBSCRIPTIONS} subscriptions, without and with filters`,
      )
      const store = await filterCost(pool, box)
      const rows = [
        { what: `claim of 200 (${SUBSCRIPTIONS} subscriptions × 20 due)`, ms: ms(claim.without) },
        { what: `  the same beside ${WAITING} waiting deliveries`, ms: ms(claim.withWaiting) },
        { what: `link 200 new ordered deliveries, beside them`, ms: ms(claim.link) },
        { what: `store ${BATCH} events, no active subscription`, ms: ms(store.none) },
        { what: `  ${SUBSCRIPTIONS} subscriptions without a filter`, ms: ms(store.unfiltered) },
        {
          what: `  ${SUBSCRIPTIONS} subscriptions, each with a 2-condition filter`,
          ms: ms(store.withFilters),
        },
      ]
      return {
        tables: [{ title: `delivery SQL (median of ${ROUNDS} runs, ms)`, rows }],
        data: { claim, store, waiting: WAITING, subscriptions: SUBSCRIPTIONS, batch: BATCH },
      }
    } finally {
      await pool.end()
      await db.drop()
    }
  },
}
