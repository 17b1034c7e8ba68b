import type { BenchContext, SectionResult } from '../types.js'
import { pipelineRun, type LoadShape, type PipelineRun } from './runs.js'
import {
  meanStoreCpu,
  storeCpu,
  storeCpuRatioRow,
  storeCpuRow,
  type StoreCpu,
} from './store-cpu.js'
import * as t from './tables.js'

/**
 * Only the max-load runs (BENCH_BURST_PARTS=store-cpu): current and, when a baseline is given, the
 * baseline in between, `rounds` times alternating; CPU per stored event of each run and the
 * mean by side. Quicker to iterate on than the whole section.
 */
export async function maxRounds(
  ctx: BenchContext,
  shape: LoadShape,
  o: { workers: number; drainMaxSeconds: number },
  base: { dir: string; rev: string } | null,
  rounds: number,
): Promise<SectionResult> {
  const runs: { side: 'current' | 'baseline'; run: PipelineRun }[] = []
  for (let i = 0; i < rounds; i++) {
    // Alternate which side goes first so that drift in the machine's load hits both.
    const sides =
      i % 2 === 0 ? (['current', 'baseline'] as const) : (['baseline', 'current'] as const)
    for (const side of sides) {
      if (side === 'baseline' && !base) continue
      ctx.log(`round ${i + 1}/${rounds}: ${side}, max load for ${shape.seconds} s, then the drain`)
      runs.push({
        side,
        run: await pipelineRun(ctx, shape, {
          ...o,
          ...(side === 'baseline' ? { root: base!.dir } : {}),
        }),
      })
    }
  }
  const cpuOf = (side: string) => runs.filter((r) => r.side === side).map((r) => storeCpu(r.run))
  const cur = meanStoreCpu(cpuOf('current'))
  const old: StoreCpu | null = base ? meanStoreCpu(cpuOf('baseline')) : null
  const label = (side: string) => (side === 'baseline' ? `baseline ${base?.rev}` : side)
  return {
    tables: [
      {
        title: `burst max: end to end at max load for ${shape.seconds} s, then the drain, ${rounds} round(s)`,
        rows: runs.map((r) => t.e2eRow(label(r.side), r.run)),
      },
      {
        title:
          'burst max: CPU µs per stored event (load start to drain end), engine + RabbitMQ + Postgres',
        rows: [
          ...runs.map((r) => storeCpuRow(label(r.side), storeCpu(r.run))),
          storeCpuRow('current (mean)', cur),
          ...(old
            ? [storeCpuRow(`baseline ${base?.rev} (mean)`, old), storeCpuRatioRow(cur, old)]
            : []),
        ],
      },
    ],
    data: { runs, storeCpu: { current: cur, baseline: old } },
  }
}
