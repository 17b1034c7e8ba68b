import type { BenchContext, BenchTable } from '../types.js'
import { pipelineRun, type LoadShape, type PipelineRun } from './runs.js'
import { ingestRow } from './tables.js'

/** Rounds of the fixed-rate latency part; with a baseline, current and baseline alternate. */
const ROUNDS = Number(process.env.BENCH_BURST_HTTP_ROUNDS ?? 1)

export interface LatencyRounds {
  /** The first current run (what the burst tables and targets show). */
  first: PipelineRun
  current: PipelineRun[]
  baseline: PipelineRun[]
}

/**
 * Ingest latency with the whole pipeline running at a fixed offered rate (issue 20: p99 <= 10
 * ms at 5,000/s). The tail is sensitive to whatever else runs on the machine, so each round
 * runs the current engine and, when given, the baseline checkout right after it, in the same
 * sitting; rounds alternate which goes first, so neither always follows a warm machine.
 */
export async function latencyRounds(
  ctx: BenchContext,
  shape: LoadShape,
  full: { workers: number },
  base: { dir: string; rev: string } | null,
): Promise<LatencyRounds> {
  const run = (root?: string) =>
    pipelineRun(ctx, shape, {
      ...full,
      drainMaxSeconds: 0,
      fsyncProbe: true,
      ...(root ? { root } : {}),
    })
  const current: PipelineRun[] = []
  const baseline: PipelineRun[] = []
  for (let i = 0; i < Math.max(1, ROUNDS); i++) {
    const baseFirst = base !== null && i % 2 === 1
    if (baseFirst) baseline.push(await run(base.dir))
    ctx.log(`current, ${shape.rate} req/s offered, round ${i + 1}`)
    current.push(await run())
    if (base && !baseFirst) {
      ctx.log(`baseline ${base.rev}, ${shape.rate} req/s offered, round ${i + 1}`)
      baseline.push(await run(base.dir))
    }
  }
  return { first: current[0]!, current, baseline }
}

/**
 * One row per run, current and baseline by round, each with the disk's own fdatasync latency
 * over the same seconds (fsync-probe.ts): what the group commit under a 200 waits for.
 */
export function latencyRows(r: LatencyRounds, rev: string | undefined): BenchTable['rows'] {
  const row = (run: string, { load: l, fsync }: PipelineRun) => ({
    ...ingestRow(run, l),
    'p99.9 ms': l.p99_9,
    'disk fdatasync p50 / p99 / p99.9 ms': fsync
      ? `${fsync.p50} / ${fsync.p99} / ${fsync.p99_9}`
      : '-',
  })
  return [
    ...r.current.map((l, i) => row(`current, round ${i + 1}`, l)),
    ...r.baseline.map((l, i) => row(`baseline ${rev}, round ${i + 1}`, l)),
  ]
}
