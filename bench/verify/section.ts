import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { jsonBody, runLoad, type LoadResult } from '../stages/loadgen.js'
import { deadPort, round, startEngine } from '../stages/services.js'
import type { BenchContext, BenchSection, SectionResult } from '../types.js'
import { benchVerifyStandardWebhooks, standardWebhooksSigner } from '../verify-standard-webhooks.js'

const BODY_BYTES = 5 * 1024
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 100)
const ROUNDS = Number(process.env.BENCH_VERIFY_ROUNDS ?? 2)

/**
 * Issue 5: ingest throughput of a Standard Webhooks source (signature checked on every
 * request) against an open source, same engine configuration, alternating runs, best of
 * ROUNDS each. Only ingest is measured: the broker and database URLs point at a closed port,
 * so the pipeline behind the journal stays idle (backing off) and does not share the two cores
 * with the path under test. Every signed request carries the same id and signature (valid for
 * the 5 minute tolerance), so the server does the same work each time.
 */
export const verifySection: BenchSection = {
  name: 'verify',
  description: `Standard Webhooks verified vs open ingest, 5 KB, ${CONNECTIONS} connections`,
  async run(ctx: BenchContext): Promise<SectionResult> {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-bench-verify-'))
    try {
      const secret = `whsec_${randomBytes(32).toString('base64')}`
      const configFile = join(dir, 'sources.json')
      writeFileSync(
        configFile,
        JSON.stringify({
          sources: { signed: { verify: { type: 'standard-webhooks', secret } }, open: {} },
        }),
      )
      const body = jsonBody(BODY_BYTES)
      const dead = await deadPort()
      const env = {
        SLUICE_CONFIG: configFile,
        SLUICE_BROKER: 'rabbitmq',
        AMQP_URL: `amqp://guest:guest@127.0.0.1:${dead}`,
        SLUICE_QUEUE: 'sluice_bench_unreachable',
        DATABASE_URL: `postgres://postgres@127.0.0.1:${dead}/none`,
      }
      const run = async (path: 'signed' | 'open'): Promise<LoadResult> => {
        const engine = await startEngine(ctx, env)
        try {
          const headers =
            path === 'signed' ? standardWebhooksSigner(secret)('msg_bench_1', body) : {}
          const spec = {
            url: `${engine.base}/webhook/${path}`,
            connections: CONNECTIONS,
            body,
            headers,
          }
          const warm = await runLoad(ctx, { ...spec, duration: 2 })
          if (warm.ok === 0)
            throw new Error(`${path}: no request accepted (${JSON.stringify(warm)})`)
          return await runLoad(ctx, { ...spec, duration: ctx.duration })
        } finally {
          await engine.close()
        }
      }
      const open: LoadResult[] = []
      const signed: LoadResult[] = []
      for (let r = 0; r < ROUNDS; r++) {
        const order = r % 2 ? (['signed', 'open'] as const) : (['open', 'signed'] as const)
        for (const p of order) {
          ctx.log(`ingest /webhook/${p}, ${ctx.duration} s`)
          const result = await run(p)
          ;(p === 'open' ? open : signed).push(result)
        }
      }
      const best = (rs: LoadResult[]) => rs.reduce((a, b) => (b.rps > a.rps ? b : a))
      const bestOpen = best(open)
      const bestSigned = best(signed)
      const ratio = bestOpen.rps > 0 ? bestSigned.rps / bestOpen.rps : 0
      ctx.log('in-process micro-benchmark')
      const micro = benchVerifyStandardWebhooks({ bodyBytes: BODY_BYTES })
      const row = (name: string, best: LoadResult, all: LoadResult[]) => ({
        path: name,
        'req/s': Math.round(best.rps),
        'p50 ms': best.p50,
        'p99 ms': best.p99,
        'non-2xx': best.non2xx + best.errors + best.timeouts,
        runs: all.map((r) => Math.round(r.rps)).join(' '),
      })
      return {
        tables: [
          {
            title: `verify: 5 KB POST, ${CONNECTIONS} connections, ${ctx.duration} s, best of ${ROUNDS}`,
            rows: [
              row('/webhook/open (unverified)', bestOpen, open),
              row('/webhook/signed (standard-webhooks)', bestSigned, signed),
            ],
          },
          {
            title: 'verify: in-process Standard Webhooks verification, 5 KB body',
            rows: [
              {
                'verify ops/s': micro.opsPerSecond,
                'us/op': micro.microsecondsPerOp,
                'bare HMAC ops/s': micro.hmacOnlyOpsPerSecond,
              },
            ],
          },
          {
            title: 'verify targets',
            rows: [
              { metric: 'verified / unverified ingest', target: '>= 0.9', reached: round(ratio) },
            ],
          },
        ],
        data: { bodyBytes: BODY_BYTES, connections: CONNECTIONS, open, signed, ratio, micro },
      }
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  },
}
