import { performance } from 'node:perf_hooks'
import { Agent, request } from 'undici'
import { summarize } from './latency.js'

// The limit the dispatcher is compared with: a bare undici loop, in its own process (as the
// engine is), POSTing the same body to the same receivers with the same concurrency the
// subscriptions allow (perUrl loops per receiver, like maxInFlight). No database, no signing,
// no schedule: only HTTP. Input: one JSON argument (BareSpec). Output: one BareResult line.

export interface BareSpec {
  urls: string[]
  perUrl: number
  warmSeconds: number
  seconds: number
  body: string
}

export interface BareResult {
  perSecond: number
  deliveries: number
  seconds: number
  errors: number
  /** Request start to response end, client side, over the measured deliveries. */
  p50Ms: number | null
  p99Ms: number | null
}

const spec = JSON.parse(process.argv[2] ?? '{}') as BareSpec
// undici's defaults, as the dispatcher's agent (createOutboundAgent) has besides its connector.
const agent = new Agent()
const body = Buffer.from(spec.body)
const start = performance.now()
const from = start + spec.warmSeconds * 1000
const to = from + spec.seconds * 1000
const latencies: number[] = []
let errors = 0

async function loop(url: string): Promise<void> {
  while (performance.now() < to) {
    const t = performance.now()
    try {
      const res = await request(url, {
        dispatcher: agent,
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      })
      await res.body.dump()
      const end = performance.now()
      if (res.statusCode !== 200) errors++
      else if (t >= from && end <= to) latencies.push(end - t)
    } catch {
      errors++
    }
  }
}

await Promise.all(spec.urls.flatMap((u) => Array.from({ length: spec.perUrl }, () => loop(u))))
await agent.close()
const s = summarize(latencies)
const result: BareResult = {
  perSecond: Math.round(latencies.length / spec.seconds),
  deliveries: latencies.length,
  seconds: spec.seconds,
  errors,
  p50Ms: s.p50Ms,
  p99Ms: s.p99Ms,
}
console.log(JSON.stringify(result))
