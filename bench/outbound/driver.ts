import { performance } from 'node:perf_hooks'
import { request } from 'undici'
import { sleep } from '../stages/services.js'
import { summarize, type LatencySummary } from './latency.js'
import type { ReceiverFarm } from './receivers.js'

export interface DriveSpec {
  /** The engine's `/webhook` URL. */
  webhook: string
  /** Healthy receivers each event must reach (one subscription each). */
  healthy: number
  /** Events outstanding at once: posted and not yet at every healthy receiver. */
  window: number
  /** Seconds after the start left out of the measurement (JIT, connections, caches). */
  warmSeconds: number
  seconds: number
  /** Longest wait after the run for the events still outstanding. */
  drainMs: number
  bodyBytes: number
  /** Event type. @defaultValue 'bench.event' */
  type?: string
  /** When set, each event carries `"customer": "c<keyOf(seq)>"` (the ordering key of (d)). */
  keyOf?: (seq: number) => number
  /** Told of every post, 200, arrival and answer at a healthy receiver (the ordering check). */
  watch?: DriveWatch
}

export interface DriveWatch {
  posted(seq: number, at: number): void
  acked(seq: number, at: number): void
  arrived(receiver: number, seq: number, at: number): void
  answered(receiver: number, seq: number, at: number): void
}

export interface DriveResult {
  /** Events acknowledged (200) over the whole run. */
  events: number
  /** Deliveries to healthy receivers per second within the measured window. */
  perSecond: number
  deliveries: number
  /** Sluice's 200 to the webhook POST -> the healthy receiver has read the delivery's body. */
  latency: LatencySummary
  /** A healthy receiver getting an event it already had (at-least-once). */
  duplicates: number
  /** Events not at every healthy receiver when the drain gave up. */
  incomplete: number
  postFailures: number
}

interface Tracked {
  ackAt: number | null
  /** Healthy receiver index -> when it read the delivery. */
  arrivals: Map<number, number>
  done: boolean
}

// Sequence numbers never repeat within one bench process, so a late delivery of an earlier run
// cannot count in a later one.
let nextSeq = 1

/**
 * A JSON event of `bytes` bytes carrying its sequence number (receivers read it back, so it
 * stays within the first 200 bytes) and any `fields` (string values) after it.
 */
export function eventBody(
  type: string,
  seq: number,
  bytes: number,
  fields: Record<string, string> = {},
): string {
  const extra = Object.entries(fields)
    .map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)},`)
    .join('')
  const head = `{"type":"${type}","seq":${seq},${extra}"data":"`
  return `${head}${'x'.repeat(Math.max(0, bytes - head.length - 2))}"}`
}

export function takeSeq(): number {
  return nextSeq++
}

/**
 * Closed loop through the real engine: `window` events of type bench.event in flight; each one
 * that has reached every healthy receiver is replaced by a new one. So the dispatcher always
 * has a backlog (its throughput is measured) while the latency stays bounded by the window
 * instead of growing with an open-loop backlog.
 */
export async function drive(farm: ReceiverFarm, spec: DriveSpec): Promise<DriveResult> {
  const events = new Map<number, Tracked>()
  const latencies: number[] = []
  const start = performance.now()
  const from = start + spec.warmSeconds * 1000
  const to = from + spec.seconds * 1000
  let outstanding = 0
  let acked = 0
  let deliveries = 0
  let duplicates = 0
  let postFailures = 0

  const complete = (e: Tracked) => {
    if (e.done || e.ackAt === null || e.arrivals.size < spec.healthy) return
    e.done = true
    outstanding--
    if (e.ackAt >= from && e.ackAt <= to)
      for (const at of e.arrivals.values()) latencies.push(at - e.ackAt)
    refill()
  }
  const refill = () => {
    while (outstanding < spec.window && performance.now() < to) post()
  }
  const type = spec.type ?? 'bench.event'
  const keyOf = spec.keyOf
  const watch = spec.watch
  const post = () => {
    const seq = takeSeq()
    const fields: Record<string, string> = keyOf ? { customer: `c${keyOf(seq)}` } : {}
    const e: Tracked = { ackAt: null, arrivals: new Map(), done: false }
    events.set(seq, e)
    outstanding++
    const failed = () => {
      postFailures++
      events.delete(seq)
      outstanding--
      setTimeout(refill, 100)
    }
    watch?.posted(seq, performance.now())
    void request(spec.webhook, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: eventBody(type, seq, spec.bodyBytes, fields),
    })
      .then(async (res) => {
        const at = performance.now()
        await res.body.dump()
        if (res.statusCode !== 200) return failed()
        acked++
        e.ackAt = at
        watch?.acked(seq, at)
        complete(e)
      })
      // Refused, reset, or the answer's body failed: not acknowledged, so it does not count.
      .catch(() => {
        if (e.ackAt === null && events.has(seq)) failed()
      })
  }

  farm.onArrival = (r, _path, seq, at) => {
    const e = r.behaviour === 'healthy' ? events.get(seq) : undefined
    if (!e) return
    watch?.arrived(r.index, seq, at)
    if (e.arrivals.has(r.index)) return void duplicates++
    e.arrivals.set(r.index, at)
    if (at >= from && at <= to) deliveries++
    complete(e)
  }
  if (watch) {
    farm.onAnswered = (r, _path, seq, _status, at) => {
      if (r.behaviour === 'healthy' && events.has(seq)) watch.answered(r.index, seq, at)
    }
  }
  try {
    refill()
    await sleep(to - performance.now())
    const deadline = to + spec.drainMs
    while (outstanding > 0 && performance.now() < deadline) await sleep(50)
  } finally {
    farm.onArrival = () => {}
    farm.onAnswered = () => {}
  }
  return {
    events: acked,
    perSecond: Math.round(deliveries / spec.seconds),
    deliveries,
    latency: summarize(latencies),
    duplicates,
    incomplete: outstanding,
    postFailures,
  }
}
