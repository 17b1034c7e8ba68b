import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { cpuBetween, sampleCpu } from '../burst/threads.js'
import { load, startSluice } from '../ingest/section.js'
import type { BenchContext, BenchSection, SectionResult } from '../types.js'

const ROUNDS = Number(process.env.BENCH_TRACING_ROUNDS ?? 3)
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 100)

/** An OTLP/HTTP receiver that reads and discards every export (its CPU is not the engine's). */
async function discardingCollector() {
  let exports = 0
  const server = createServer((req, res) => {
    req.resume()
    req.on('end', () => {
      exports++
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}')
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    exports: () => exports,
    close: () => new Promise<void>((r) => server.close(() => r())),
  }
}

/**
 * Issue 21: the ingest section's max-throughput run (5 KB JSON, the pipeline behind the journal
 * idle) with tracing off and with tracing on (OTLP/HTTP to a local receiver that discards),
 * alternating, `BENCH_TRACING_ROUNDS` rounds. The engine's CPU per request (all its threads,
 * from /proc) is reported beside req/s: on a shared machine it moves far less than throughput.
 */
export const tracingSection: BenchSection = {
  name: 'tracing',
  description: `ingest with tracing off vs on, ${ROUNDS} alternating rounds, BENCH_DURATION s each`,
  async run(ctx: BenchContext): Promise<SectionResult> {
    const collector = await discardingCollector()
    const runs: Array<{
      tracing: string
      round: number
      rps: number
      p99: number
      cpuUs: number | null
    }> = []
    try {
      for (let round = 0; round < ROUNDS; round++) {
        const order = round % 2 === 0 ? ['off', 'on'] : ['on', 'off']
        for (const tracing of order) {
          ctx.log(`round ${round + 1}: tracing ${tracing}`)
          const env = tracing === 'on' ? { OTEL_EXPORTER_OTLP_ENDPOINT: collector.url } : {}
          const sluice = await startSluice(ctx, env)
          const base = {
            url: sluice.url,
            connections: CONNECTIONS,
            duration: ctx.duration,
            bodyBytes: 5 * 1024,
          }
          await load(ctx, { ...base, duration: 2 })
          const before = sluice.pid ? sampleCpu(sluice.pid) : null
          const r = await load(ctx, base)
          const served = Math.round(r.rps * ctx.duration)
          const cpu =
            sluice.pid && before
              ? cpuBetween(sluice.pid, before, sampleCpu(sluice.pid), served)
              : null
          await sluice.close()
          runs.push({
            tracing,
            round,
            rps: Math.round(r.rps),
            p99: r.p99,
            cpuUs: cpu?.process.usPerEvent ?? null,
          })
        }
      }
    } finally {
      await collector.close()
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0
    const summary = (tracing: string) => {
      const mine = runs.filter((r) => r.tracing === tracing)
      return {
        tracing,
        'median req/s': median(mine.map((r) => r.rps)),
        'best req/s': Math.max(...mine.map((r) => r.rps)),
        'median CPU µs/req': median(mine.map((r) => r.cpuUs ?? 0)),
      }
    }
    const off = summary('off')
    const on = summary('on')
    return {
      tables: [
        { title: 'tracing: every run', rows: runs.map((r) => ({ ...r, round: r.round + 1 })) },
        { title: 'tracing: off vs on (OTLP to a local receiver that discards)', rows: [off, on] },
      ],
      data: { runs, off, on, exports: collector.exports() },
    }
  },
}
