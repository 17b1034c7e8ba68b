import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join, resolve } from 'node:path'
import type { LoadResult } from '../stages/loadgen.js'
import type { BenchContext, BenchSection, BenchTable, SectionResult } from '../types.js'
import { forwarderSweep } from './forwarders.js'
import { latencyRounds, latencyRows, type LatencyRounds } from './ingest-latency.js'
import {
  ingestAlone,
  pipelineRun,
  settleSeconds,
  type LoadShape,
  type PipelineRun,
} from './runs.js'
import { maxRounds } from './max-rounds.js'
import { storeCpu, storeCpuRatioRow, storeCpuRow } from './store-cpu.js'
import * as t from './tables.js'

const SECONDS = Number(process.env.BENCH_BURST_SECONDS ?? 15)
const DRAIN_MAX = Number(process.env.BENCH_BURST_DRAIN_MAX ?? 120)
const FORWARDER_EVENTS = Number(process.env.BENCH_BURST_FORWARDER_EVENTS ?? 10_000)
const BASELINE_DIR = process.env.BENCH_BASELINE_DIR
// Rounds of the `store-cpu` part: max-load runs, current and baseline alternating.
const ROUNDS = Number(process.env.BENCH_BURST_ROUNDS ?? 1)
const CONNECTIONS = 50
const WORKERS = 2
const HTTP_RATE = 5000
const E2E_RATE = 1000
const ENVELOPES = [1, 10, 50]
/**
 * Parts to run: max (alone, pipeline, baseline), http (fixed-rate latency), e2e, forwarders;
 * or `store-cpu` alone: only max-load runs, BENCH_BURST_ROUNDS of them alternating current and
 * baseline, with CPU per stored event (engine + RabbitMQ + Postgres).
 */
const PARTS = new Set(
  (process.env.BENCH_BURST_PARTS ?? 'max,http,e2e,forwarders').split(',').map((p) => p.trim()),
)
const PREPARE = 'bench/prepare-baseline.sh 001f135 /tmp/sluice-baseline'

/** The baseline checkout and its commit, or null when BENCH_BASELINE_DIR is unset. */
function baseline(): { dir: string; rev: string } | null {
  if (!BASELINE_DIR) return null
  const dir = resolve(BASELINE_DIR)
  if (!existsSync(join(dir, 'dist', 'bench', 'ingest', 'engine-server.js'))) {
    throw new Error(`BENCH_BASELINE_DIR=${dir} holds no build (dist/); prepare it: ${PREPARE}`)
  }
  let rev = 'unknown commit'
  try {
    rev = execFileSync('git', ['-C', dir, 'log', '-1', '--format=%h'], { encoding: 'utf8' }).trim()
  } catch {
    // not a git checkout: the directory alone names it
  }
  return { dir, rev }
}

/**
 * Ingest while the whole pipeline drains a burst behind it, end to end at max load and at a
 * fixed rate, CPU per thread of the engine, a baseline checkout, and the forwarder into
 * RabbitMQ and SQS by envelope size.
 */
export const burstSection: BenchSection = {
  name: 'burst',
  description: `5 KB events, ${CONNECTIONS} connections, ${SECONDS} s runs: ingest alone vs with the pipeline, drain, CPU per thread, baseline, forwarder RabbitMQ/SQS`,
  async run(ctx: BenchContext): Promise<SectionResult> {
    const base = baseline()
    const max: LoadShape = { seconds: SECONDS, connections: CONNECTIONS }
    const full = { workers: WORKERS, drainMaxSeconds: DRAIN_MAX }
    if (PARTS.has('store-cpu')) return maxRounds(ctx, max, full, base, ROUNDS)

    let alone: LoadResult | null = null
    let current: PipelineRun | null = null
    let old: PipelineRun | null = null
    if (PARTS.has('max')) {
      ctx.log(`ingest alone (broker and database unreachable), max, ${SECONDS} s`)
      alone = await ingestAlone(ctx, max)
      ctx.log(`pipeline, max load for ${SECONDS} s, then the drain (at most ${DRAIN_MAX} s)`)
      current = await pipelineRun(ctx, max, full)
      if (base) {
        ctx.log(`baseline ${base.rev} (${base.dir}): pipeline, max load, then the drain`)
        old = await pipelineRun(ctx, max, { ...full, root: base.dir })
      }
    }
    let http: LatencyRounds | null = null
    if (PARTS.has('http')) {
      ctx.log(`pipeline, ${HTTP_RATE} req/s offered for ${SECONDS} s (ingest latency)`)
      http = await latencyRounds(ctx, { ...max, rate: HTTP_RATE }, full, base)
    }
    let slow: PipelineRun | null = null
    if (PARTS.has('e2e')) {
      ctx.log(`pipeline, ${E2E_RATE} events/s offered for ${SECONDS} s, then the drain`)
      slow = await pipelineRun(ctx, { ...max, rate: E2E_RATE }, { ...full, latency: true })
    }
    const forwarders = PARTS.has('forwarders')
      ? await forwarderSweep(ctx, FORWARDER_EVENTS, ENVELOPES)
      : null

    const ingestRatio = current && alone ? t.ratio(current.load.rps, alone.rps) : null
    // End to end over load and drain together: a burst absorbed and stored after counts.
    const vsBaseline =
      current && old ? t.ratio(current.storedOverallPerSecond, old.storedOverallPerSecond) : null
    const p99 = slow?.latency?.p99Ms ?? null
    const pipelineLabel = `pipeline (RabbitMQ + Postgres, ${WORKERS} workers)`
    const cpuRuns: [string, PipelineRun | null][] = [
      ['max', current],
      [`${E2E_RATE}/s`, slow],
      [`baseline max`, old],
    ]
    const ran = cpuRuns.filter((r): r is [string, PipelineRun] => r[1] !== null)
    const tables: Array<BenchTable | null> = [
      current && alone
        ? {
            title: `burst 1: ingest, 5 KB, ${CONNECTIONS} connections, max, ${SECONDS} s`,
            rows: [
              t.ingestRow('alone (broker and database unreachable)', alone),
              t.ingestRow(pipelineLabel, current.load),
              { run: 'ratio pipeline / alone (target >= 0.7)', 'req/s': ingestRatio },
            ],
          }
        : null,
      http
        ? {
            title: `burst 2: ingest latency, pipeline running, ${HTTP_RATE} req/s offered, ${SECONDS} s (target p99 <= 10 ms)`,
            rows: latencyRows(http, base?.rev),
          }
        : null,
      current
        ? {
            title: `burst 3: end to end at max load for ${SECONDS} s, then the drain (first ${settleSeconds(SECONDS)} s of the load left out of stored/s)`,
            rows: [t.e2eRow('current', current)],
          }
        : null,
      slow
        ? {
            title: `burst 4: receive -> row latency at ${E2E_RATE} events/s offered, ${SECONDS} s (after the drain)`,
            rows: [t.latencyRow(E2E_RATE, slow)],
          }
        : null,
      current
        ? {
            title: 'burst 5: current vs baseline checkout, the same max-load run',
            rows: old
              ? [
                  t.e2eRow('current', current),
                  t.e2eRow(`baseline ${base?.rev}`, old),
                  {
                    run: 'current / baseline stored/s (target >= 3)',
                    'stored/s load+drain': vsBaseline,
                  },
                ]
              : [{ baseline: `not run: set BENCH_BASELINE_DIR; prepare one with ${PREPARE}` }],
          }
        : null,
      ran.length > 0
        ? {
            title: `burst 6: engine CPU per thread group, load start to drain end; µs/event over the events accepted (${ran.map(([n, r]) => `${n}: ${r.load.ok}`).join(', ')})`,
            rows: ran.flatMap(([n, r]) => t.cpuRows(n, r)),
          }
        : null,
      current
        ? {
            title:
              'burst 6b: CPU µs per stored event (load start to drain end), engine + RabbitMQ + Postgres',
            rows: [
              storeCpuRow('current max', storeCpu(current)),
              ...(old
                ? [
                    storeCpuRow(`baseline ${base?.rev} max`, storeCpu(old)),
                    storeCpuRatioRow(storeCpu(current), storeCpu(old)),
                  ]
                : []),
            ],
          }
        : null,
      forwarders
        ? {
            title: `burst 7: Forwarder, ${FORWARDER_EVENTS} x 5 KB journal entries, by events per message`,
            rows: t.forwarderRows(forwarders),
          }
        : null,
      {
        title: 'burst targets',
        rows: [
          t.targetRow('ingest pipeline / alone', '>= 0.7', ingestRatio),
          t.targetRow(`ingest p99 ms at ${HTTP_RATE}/s`, '<= 10', http?.first.load.p99 ?? null),
          t.targetRow(`receive -> row p99 ms at ${E2E_RATE}/s`, '<= 200 (stretch 50)', p99),
          t.targetRow('stored/s (load+drain) current / baseline', '>= 3', vsBaseline),
        ],
      },
    ]
    return {
      tables: tables.filter((x): x is BenchTable => x !== null),
      data: {
        bodyBytes: 5 * 1024,
        connections: CONNECTIONS,
        workers: WORKERS,
        seconds: SECONDS,
        parts: [...PARTS],
        alone,
        pipelineMax: current,
        httpRate: http ? { offered: HTTP_RATE, run: http.first, rounds: http } : null,
        e2eRate: slow ? { offered: E2E_RATE, run: slow } : null,
        baseline: old ? { dir: base?.dir, rev: base?.rev, run: old } : null,
        forwarders,
        ratios: { ingestPipelineOverAlone: ingestRatio, currentOverBaseline: vsBaseline },
      },
    }
  },
}
