import { writeFileSync } from 'node:fs'
import { performance } from 'node:perf_hooks'
import { request } from 'undici'
import { sleep } from '../stages/services.js'
import type { adminClient } from './admin.js'
import { eventBody, takeSeq } from './driver.js'
import type { ReceiverFarm } from './receivers.js'

export interface FanOutResult {
  subscriptions: number
  bodyBytes: number
  /** Seconds the admin API took to create them. */
  createSeconds: number
  /** Sluice's 200 -> the first and the last of the deliveries read by a receiver. */
  firstMs: number | null
  allMs: number | null
  delivered: number
  duplicates: number
  /** The engine's peak RSS from just before the event until every delivery arrived. */
  peakRssBytes: number | null
}

/**
 * Resets the peak RSS (VmHWM) of a process to its current RSS (Linux: `5` into clear_refs), so
 * a later peakRss() is the peak since then. False where the kernel does not allow it.
 */
function resetPeakRss(pid: number | undefined): boolean {
  if (!pid) return false
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5')
    return true
  } catch {
    return false
  }
}

/**
 * One event fanned out to `n` subscriptions (type bench.fanout, `/fanout/<i>` on the healthy
 * receivers in turn, made through the admin API): the time until every one has it.
 */
export async function fanOut(
  farm: ReceiverFarm,
  o: {
    webhook: string
    admin: ReturnType<typeof adminClient>
    n: number
    bodyBytes: number
    settleMs: number
    timeoutMs: number
    engine: { pid: number | undefined; peakRss(): number | null }
  },
): Promise<FanOutResult> {
  const healthy = farm.of('healthy')
  const made = performance.now()
  await o.admin.subscribe(
    Array.from({ length: o.n }, (_, i) => ({
      url: healthy[i % healthy.length]!.url(`/fanout/${i}`),
      eventTypes: ['bench.fanout'],
    })),
  )
  const createSeconds = Number(((performance.now() - made) / 1000).toFixed(1))
  // Every dispatcher has the new subscriptions within a second (its cache poll, CONTRACT.md).
  await sleep(o.settleMs)
  const seq = takeSeq()
  const got = new Map<string, number>()
  let duplicates = 0
  farm.onArrival = (_r, path, s, at) => {
    if (s !== seq) return
    if (got.has(path)) duplicates++
    else got.set(path, at)
  }
  const reset = resetPeakRss(o.engine.pid)
  try {
    const res = await request(o.webhook, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: eventBody('bench.fanout', seq, o.bodyBytes),
    })
    const ackAt = performance.now()
    await res.body.dump()
    if (res.statusCode !== 200) throw new Error(`the fan-out event got ${res.statusCode}`)
    const deadline = ackAt + o.timeoutMs
    while (got.size < o.n && performance.now() < deadline) await sleep(20)
    const times = [...got.values()]
    const ms = (t: number) => Number((t - ackAt).toFixed(1))
    return {
      subscriptions: o.n,
      bodyBytes: o.bodyBytes,
      createSeconds,
      firstMs: times.length > 0 ? ms(Math.min(...times)) : null,
      allMs: got.size >= o.n ? ms(Math.max(...times)) : null,
      delivered: got.size,
      duplicates,
      peakRssBytes: reset ? o.engine.peakRss() : null,
    }
  } finally {
    farm.onArrival = () => {}
  }
}
