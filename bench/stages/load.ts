import { createRequire } from 'node:module'
import type { LoadSpec } from './loadgen.js'

// A load generator in its own process so it does not share a thread with the server under test.
// It takes the exact body and headers (signed requests) and can be stopped early with SIGTERM
// (outage runs stop the load once the backlog has drained).
// Input: one JSON argument (LoadSpec). Output: {"msg":"started"}, then one result JSON line.
// autocannon ships no type declarations; the shape used here is checked at runtime below.
const require = createRequire(import.meta.url)
type Instance = { stop(): void }
const autocannon = require('autocannon') as (
  opts: Record<string, unknown>,
  cb: (err: Error | null, r: Result) => void,
) => Instance

interface Result {
  requests: { average: number; total: number }
  latency: { p50: number; p99: number; p99_9: number; max: number }
  duration: number
  non2xx: number
  errors: number
  timeouts: number
  '2xx': number
}

const spec = JSON.parse(process.argv[2] ?? '{}') as LoadSpec

const instance = autocannon(
  {
    url: spec.url,
    method: 'POST',
    connections: spec.connections,
    duration: spec.duration,
    headers: { 'content-type': 'application/json', ...spec.headers },
    body: spec.body,
    ...(spec.overallRate ? { overallRate: spec.overallRate } : {}),
  },
  (err, r) => {
    if (err) throw err
    if (typeof r?.requests?.total !== 'number') throw new Error('unexpected autocannon result')
    console.log(
      JSON.stringify({
        rps: r.requests.total / Math.max(r.duration, 0.001),
        seconds: r.duration,
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
  },
)
process.once('SIGTERM', () => instance.stop())
console.log(JSON.stringify({ msg: 'started' }))
