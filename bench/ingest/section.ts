import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { peakRss, startNode, stop } from '../proc.js'
import { jsonBody, runLoad, type LoadResult } from '../stages/loadgen.js'
import { deadPort } from '../stages/services.js'
import type { BenchContext, BenchSection, SectionResult } from '../types.js'

export type { LoadResult }

export interface LoadOptions {
  url: string
  connections: number
  duration: number
  bodyBytes: number
  overallRate?: number
}

const BODY_BYTES = 5 * 1024
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 100)
const RATE = Number(process.env.BENCH_RATE ?? 10000)

/** Run autocannon in its own process against `opts.url`, posting a JSON body of `bodyBytes`. */
export async function load(ctx: BenchContext, opts: LoadOptions): Promise<LoadResult> {
  const { bodyBytes, ...spec } = opts
  return runLoad(ctx, { ...spec, body: jsonBody(bodyBytes) })
}

/**
 * Start Sluice's engine (sync full, journal in a temp dir) in its own process. Only ingest is
 * measured: the broker and the database point at a closed port, so the pipeline behind the
 * journal stays idle (the `e2e` section measures all of it).
 */
export async function startSluice(ctx: BenchContext, env: NodeJS.ProcessEnv = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-bench-'))
  const dead = await deadPort()
  const { child, line } = await startNode(
    join(ctx.root, 'dist', 'bench', 'ingest', 'engine-server.js'),
    [],
    {
      PORT: '0',
      HOST: '127.0.0.1',
      SLUICE_DATA_DIR: dir,
      SLUICE_JOURNAL_SYNC: 'full',
      SLUICE_LOG_LEVEL: 'warn',
      SLUICE_BROKER: 'rabbitmq',
      AMQP_URL: `amqp://guest:guest@127.0.0.1:${dead}`,
      DATABASE_URL: `postgres://postgres@127.0.0.1:${dead}/none`,
      ...env,
    },
    (l) => l.msg === 'listening',
  )
  return {
    url: `http://127.0.0.1:${Number(line.port)}/webhook`,
    pid: child.pid,
    close: async () => {
      await stop(child)
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

const ms = (v: number) => Number(v.toFixed(2))

function row(name: string, r: LoadResult, rss: number | null, offered: string) {
  return {
    target: name,
    offered,
    'req/s': Math.round(r.rps),
    'p50 ms': ms(r.p50),
    'p99 ms': ms(r.p99),
    'p99.9 ms': ms(r.p99_9),
    'non-2xx': r.non2xx + r.errors + r.timeouts,
    'peak RSS MB': rss === null ? null : Math.round(rss / 1048576),
  }
}

/**
 * Ingest: 5 KB JSON POSTs from autocannon (own process) against (a) a bare uWebSockets.js app
 * that reads the body and answers 200 and (b) Sluice with synchronous=FULL; then Sluice again
 * at a fixed offered rate for its tail latency.
 */
export const ingestSection: BenchSection = {
  name: 'ingest',
  description: `5 KB JSON, ${CONNECTIONS} connections, ${RATE} req/s rate run; BENCH_DURATION s each`,
  async run(ctx: BenchContext): Promise<SectionResult> {
    const d = ctx.duration
    const base = { connections: CONNECTIONS, duration: d, bodyBytes: BODY_BYTES }

    ctx.log('bare uWebSockets.js, max throughput')
    const bareProc = await startNode(
      join(ctx.root, 'dist', 'bench', 'ingest', 'bare-server.js'),
      [],
      {},
      (l) => l.msg === 'listening',
    )
    const bareUrl = `http://127.0.0.1:${Number(bareProc.line.port)}/webhook`
    await load(ctx, { ...base, url: bareUrl, duration: 2 })
    const bare = await load(ctx, { ...base, url: bareUrl })
    // The same fixed-rate run against the bare app: the latency floor of the load generator
    // itself (autocannon's overallRate sends in timer-driven bursts) on this machine.
    const bareRated = await load(ctx, { ...base, url: bareUrl, overallRate: RATE })
    const bareRss = peakRss(bareProc.child.pid)
    await stop(bareProc.child)

    ctx.log('Sluice (sync full), max throughput')
    let sluice = await startSluice(ctx)
    await load(ctx, { ...base, url: sluice.url, duration: 2 })
    const max = await load(ctx, { ...base, url: sluice.url })
    const maxRss = peakRss(sluice.pid)
    await sluice.close()

    ctx.log(`Sluice (sync full), ${RATE} req/s offered`)
    sluice = await startSluice(ctx)
    await load(ctx, { ...base, url: sluice.url, duration: 2, overallRate: RATE / 2 })
    const rated = await load(ctx, { ...base, url: sluice.url, overallRate: RATE })
    const ratedRss = peakRss(sluice.pid)
    await sluice.close()

    const ratio = bare.rps > 0 ? max.rps / bare.rps : 0
    const peak = Math.max(maxRss ?? 0, ratedRss ?? 0) || null
    return {
      tables: [
        {
          title: `ingest: 5 KB JSON POST, ${CONNECTIONS} connections, ${d} s per run`,
          rows: [
            row('bare uWS', bare, bareRss, 'max'),
            row('bare uWS', bareRated, bareRss, `${RATE}/s`),
            row('sluice', max, maxRss, 'max'),
            row('sluice', rated, ratedRss, `${RATE}/s`),
          ],
        },
        {
          title: 'ingest targets',
          rows: [
            { metric: 'sluice/bare ratio', target: '>= 0.5', reached: Number(ratio.toFixed(2)) },
            { metric: `p99 at ${RATE}/s (ms)`, target: '<= 5', reached: ms(rated.p99) },
            {
              metric: `bare uWS p99 at ${RATE}/s (ms)`,
              target: 'floor',
              reached: ms(bareRated.p99),
            },
            {
              metric: 'engine peak RSS (MB)',
              target: '<= 200',
              reached: peak && Math.round(peak / 1048576),
            },
          ],
        },
      ],
      data: {
        bodyBytes: BODY_BYTES,
        connections: CONNECTIONS,
        duration: d,
        bare: { ...bare, peakRssBytes: bareRss },
        bareRated: { ...bareRated, offered: RATE },
        sluiceMax: { ...max, peakRssBytes: maxRss },
        sluiceRated: { ...rated, offered: RATE, peakRssBytes: ratedRss },
        ratio,
        enginePeakRssBytes: peak,
      },
    }
  },
}
