import { performance } from 'node:perf_hooks'
import pg from 'pg'
import { request } from 'undici'
import { JITTER } from '../../src/dispatcher/schedule.js'
import { sleep } from '../stages/services.js'
import type { adminClient } from './admin.js'
import { eventBody, takeSeq } from './driver.js'
import { summarize, type LatencySummary } from './latency.js'
import type { ReceiverFarm } from './receivers.js'

export interface FlakyResult {
  events: number
  /** Events the receiver answered 200 (each counted once). */
  delivered: number
  postFailures: number
  /** First POST sent -> the last one's 200. */
  postMs: number
  /** The last POST's 200 -> the receiver answered 200 to each event (p50/p99/max: all of them). */
  deliveredMs: LatencySummary
  firstMs: number | null
  /** The schedule's own minimum for any event: (step1 + step2) x (1 - jitter). */
  minimumMs: number
  /** The last event delivered / minimumMs. */
  ratio: number | null
  /** Requests the receiver got, and per second between the last 200 of the posts and the last delivery. */
  requests: number
  requestsPerSecond: number | null
  /** Events by requests the receiver got for them, e.g. { "3": 500 }. */
  requestsPerEvent: Record<string, number>
  /** Deliveries by their attempts column, and by status, from Postgres. */
  attemptsPerDelivery: Record<string, number>
  statuses: Record<string, number>
  /** Attempt rows logged as probes of a paused subscription. */
  probes: number
  /** paused_at or resumed_at set, or a sample of GET /v1/subscriptions/:id said paused. */
  pausedEver: boolean
  /** Samples of delivery.flow.state (every 100 ms) by state, and the least inFlightLimit seen. */
  flowStates: Record<string, number>
  minInFlightLimit: number | null
}

interface Flow {
  delivery?: { flow?: { state?: string; inFlightLimit?: number } }
}

/**
 * (e): `n` events posted at once to one subscription whose receiver answers 503 twice and 200
 * the third time to each webhook-id. From the last POST's 200 until the receiver has answered
 * 200 to all of them, against the schedule's minimum: an event's third attempt is due step1 +
 * step2 seconds (each less up to the jitter) after its first, so no event can succeed sooner.
 */
export async function flakyRun(
  farm: ReceiverFarm,
  o: {
    webhook: string
    admin: ReturnType<typeof adminClient>
    databaseUrl: string
    n: number
    bodyBytes: number
    maxInFlight: number
    schedule: readonly number[]
    settleMs: number
    timeoutMs: number
  },
): Promise<FlakyResult> {
  const [receiver] = await farm.add('flaky', 1)
  const [id] = await o.admin.subscribe([
    { url: receiver!.url(), eventTypes: ['bench.flaky'], maxInFlight: o.maxInFlight },
  ])
  await sleep(o.settleMs)
  const seqs = Array.from({ length: o.n }, () => takeSeq())
  const mine = new Set(seqs)
  const requests = new Map<number, number>()
  const delivered = new Map<number, number>()
  farm.onArrival = (r, _p, seq) => {
    if (r === receiver && mine.has(seq)) requests.set(seq, (requests.get(seq) ?? 0) + 1)
  }
  farm.onAnswered = (r, _p, seq, status, at) => {
    if (r === receiver && status === 200 && mine.has(seq) && !delivered.has(seq)) {
      delivered.set(seq, at)
    }
  }
  const flowStates: Record<string, number> = {}
  let minLimit: number | null = null
  let sampling = true
  const sampler = (async () => {
    while (sampling) {
      const flow = ((await o.admin.get(id!).catch(() => null)) as Flow | null)?.delivery?.flow
      if (flow?.state) flowStates[flow.state] = (flowStates[flow.state] ?? 0) + 1
      if (typeof flow?.inFlightLimit === 'number' && flow.state !== 'paused') {
        minLimit = Math.min(minLimit ?? Infinity, flow.inFlightLimit)
      }
      await sleep(100)
    }
  })()
  try {
    const t0 = performance.now()
    let postFailures = 0
    const acks = await Promise.all(
      seqs.map(async (seq) => {
        try {
          const res = await request(o.webhook, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: eventBody('bench.flaky', seq, o.bodyBytes),
          })
          const at = performance.now()
          await res.body.dump()
          if (res.statusCode === 200) return at
        } catch {
          // counted below
        }
        postFailures++
        return 0
      }),
    )
    const lastAck = Math.max(...acks)
    const expected = o.n - postFailures
    const deadline = lastAck + o.timeoutMs
    while (delivered.size < expected && performance.now() < deadline) await sleep(20)
    const times = [...delivered.values()].map((t) => t - lastAck)
    const done = summarize(times)
    const minimumMs = ((o.schedule[0] ?? 0) + (o.schedule[1] ?? 0)) * 1000 * (1 - JITTER)
    const allMs = delivered.size >= expected ? done.maxMs : null
    const total = [...requests.values()].reduce((s, x) => s + x, 0)
    const perEvent: Record<string, number> = {}
    for (const seq of seqs) {
      const k = String(requests.get(seq) ?? 0)
      perEvent[k] = (perEvent[k] ?? 0) + 1
    }
    sampling = false
    await sampler
    const db = await dbView(o.databaseUrl, id!)
    return {
      events: o.n,
      delivered: delivered.size,
      postFailures,
      postMs: Math.round(lastAck - t0),
      deliveredMs: done,
      firstMs: times.length > 0 ? Number(Math.min(...times).toFixed(1)) : null,
      minimumMs,
      ratio: allMs === null ? null : Number((allMs / minimumMs).toFixed(2)),
      requests: total,
      requestsPerSecond: allMs ? Math.round(total / (allMs / 1000)) : null,
      requestsPerEvent: perEvent,
      ...db,
      pausedEver: db.pausedEver || (flowStates.paused ?? 0) > 0,
      flowStates,
      minInFlightLimit: minLimit,
    }
  } finally {
    sampling = false
    await sampler
    farm.onArrival = () => {}
    farm.onAnswered = () => {}
    await o.admin.remove([id!]).catch(() => {})
  }
}

/** What Postgres recorded of the flaky subscription's deliveries, attempts and pauses. */
async function dbView(url: string, id: string) {
  const c = new pg.Client({ connectionString: url })
  await c.connect()
  try {
    const count = async (sql: string) => {
      const { rows } = await c.query<{ k: string; n: number }>(sql, [id])
      return Object.fromEntries(rows.map((r) => [r.k, r.n]))
    }
    const attemptsPerDelivery = await count(
      `SELECT attempts::text AS k, count(*)::int AS n FROM deliveries
       WHERE subscription_id = $1 GROUP BY attempts ORDER BY attempts`,
    )
    const statuses = await count(
      `SELECT status AS k, count(*)::int AS n FROM deliveries
       WHERE subscription_id = $1 GROUP BY status`,
    )
    const probes = await c.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM delivery_attempts WHERE subscription_id = $1 AND probe',
      [id],
    )
    const sub = await c.query<{ paused: boolean }>(
      `SELECT paused_at IS NOT NULL OR resumed_at IS NOT NULL AS paused
       FROM subscriptions WHERE id = $1`,
      [id],
    )
    return {
      attemptsPerDelivery,
      statuses,
      probes: probes.rows[0]?.n ?? 0,
      pausedEver: sub.rows[0]?.paused ?? false,
    }
  } finally {
    await c.end()
  }
}
