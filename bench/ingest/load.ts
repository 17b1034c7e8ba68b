import { createRequire } from 'node:module'

// The load generator, in its own process so it does not share a thread with the server.
// Input: one JSON argument with url, connections, duration, body size and optional overallRate.
// Output: one JSON line with throughput and latency percentiles.
// autocannon ships no type declarations; the shape used here is checked at runtime below.
const require = createRequire(import.meta.url)
const autocannon = require('autocannon') as (opts: Record<string, unknown>) => Promise<Result>

interface Result {
  requests: { average: number; total: number }
  latency: { p50: number; p99: number; p99_9: number; average: number; max: number }
  non2xx: number
  errors: number
  timeouts: number
  '2xx': number
}

const opts = JSON.parse(process.argv[2] ?? '{}') as {
  url: string
  connections: number
  duration: number
  bodyBytes: number
  overallRate?: number
}
const filler = 'x'.repeat(Math.max(0, opts.bodyBytes - 60))
const body = JSON.stringify({ type: 'bench.event', data: filler, n: 0 }).slice(0, opts.bodyBytes)
const payload = body.length === opts.bodyBytes ? body : body.padEnd(opts.bodyBytes, ' ')

const r = await autocannon({
  url: opts.url,
  method: 'POST',
  connections: opts.connections,
  duration: opts.duration,
  headers: { 'content-type': 'application/json' },
  body: payload,
  ...(opts.overallRate ? { overallRate: opts.overallRate } : {}),
})
if (typeof r?.requests?.average !== 'number') throw new Error('unexpected autocannon result shape')
console.log(
  JSON.stringify({
    rps: r.requests.average,
    total: r.requests.total,
    ok: r['2xx'],
    non2xx: r.non2xx,
    errors: r.errors,
    timeouts: r.timeouts,
    p50: r.latency.p50,
    p99: r.latency.p99,
    p99_9: r.latency.p99_9,
    max: r.latency.max,
  }),
)
