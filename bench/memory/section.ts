import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { targetRow } from '../burst/tables.js'
import type { BenchContext, BenchSection, SectionResult } from '../types.js'
import { embeddedRun, externalRun, type EmbeddedMemory, type ExternalMemory } from './runs.js'
import type { MemoryKnobs } from './runs.js'
import { mb } from './sampler.js'

const knobs: MemoryKnobs = {
  startSeconds: Number(process.env.BENCH_MEMORY_START_SECONDS ?? 25),
  idleSeconds: Number(process.env.BENCH_MEMORY_IDLE_SECONDS ?? 10),
  burstSeconds: Number(process.env.BENCH_MEMORY_BURST_SECONDS ?? 10),
  drainMaxSeconds: Number(process.env.BENCH_MEMORY_DRAIN_MAX ?? 120),
}
const ROUNDS = Number(process.env.BENCH_MEMORY_ROUNDS ?? 1)
const BASELINE_DIR = process.env.BENCH_BASELINE_DIR
const PARTS = (process.env.BENCH_MEMORY_PARTS ?? 'embedded,external').split(',')
const WORKERS = 2
const ENGINE = join('dist', 'bench', 'ingest', 'engine-server.js')

interface Checkout {
  label: string
  root: string
}

interface Round {
  checkout: string
  round: number
  embedded: EmbeddedMemory | null
  external: ExternalMemory | null
}

function checkouts(ctx: BenchContext): Checkout[] {
  const list = [{ label: 'current', root: ctx.root }]
  if (!BASELINE_DIR) return list
  const root = resolve(BASELINE_DIR)
  if (!existsSync(join(root, ENGINE))) {
    throw new Error(`BENCH_BASELINE_DIR=${root} has no ${ENGINE}: build it (npm run build)`)
  }
  let rev = root
  try {
    rev = execFileSync('git', ['-C', root, 'log', '-1', '--format=%h'], { encoding: 'utf8' }).trim()
  } catch {
    // not a git checkout: the directory names it
  }
  return [...list, { label: `baseline ${rev}`, root }]
}

const row = (r: Round) => ({
  checkout: r.checkout,
  round: r.round,
  'embedded 1st peak': mb(r.embedded?.first.peakBytes ?? null),
  'embedded 1st idle': mb(r.embedded?.first.idleBytes ?? null),
  'embedded 1st up s': r.embedded?.first.upSeconds ?? null,
  'embedded 2nd peak': mb(r.embedded?.second.peakBytes ?? null),
  'embedded 2nd idle': mb(r.embedded?.second.idleBytes ?? null),
  'external idle': mb(r.external?.idle.idleBytes ?? null),
  'external burst peak': mb(r.external?.burstPeakBytes ?? null),
  'burst events': r.external?.burstEvents ?? null,
})

/** The worst of the current checkout's rounds, in MB. */
const worst = (rounds: Round[], pick: (r: Round) => number | null) => {
  const xs = rounds.filter((r) => r.checkout === 'current').map(pick)
  return xs.some((x) => x === null) ? null : mb(Math.max(...(xs as number[])))
}

/**
 * RSS of the engine's process: embedded defaults (PGlite, the local queue) on the first start on
 * a fresh data directory and on a second start on it, and with an external Postgres and
 * RabbitMQ idle and at the peak of a burst. Rounds alternate the current and baseline checkouts.
 */
export const memorySection: BenchSection = {
  name: 'memory',
  description: `engine RSS: embedded first/second start (${knobs.startSeconds} s window, ${knobs.idleSeconds} s idle), external idle and ${knobs.burstSeconds} s burst peak`,
  async run(ctx: BenchContext): Promise<SectionResult> {
    // Every engine started here (the burst's too, which inherits the environment) takes a free
    // admin port: the default 8081 may be another engine's on a shared machine.
    process.env.SLUICE_ADMIN_PORT ??= '0'
    const rounds: Round[] = []
    for (let round = 1; round <= ROUNDS; round++) {
      for (const c of checkouts(ctx)) {
        let embedded: EmbeddedMemory | null = null
        let external: ExternalMemory | null = null
        if (PARTS.includes('embedded')) {
          ctx.log(`${c.label}, round ${round}: embedded first and second start`)
          embedded = await embeddedRun(ctx, c.root, knobs)
        }
        if (PARTS.includes('external')) {
          ctx.log(`${c.label}, round ${round}: external Postgres + RabbitMQ, idle then a burst`)
          external = await externalRun(ctx, c.root, knobs, WORKERS)
        }
        rounds.push({ checkout: c.label, round, embedded, external })
      }
    }
    return {
      tables: [
        {
          title: `memory 1: engine RSS in MB (peak: VmHWM; idle: mean over ${knobs.idleSeconds} s once the pipeline is up and the ${knobs.startSeconds} s start window is over)`,
          rows: rounds.map(row),
        },
        {
          title: 'memory targets (current checkout, worst round, MB)',
          rows: [
            targetRow(
              'embedded first start peak',
              '<= 400',
              worst(rounds, (r) => r.embedded?.first.peakBytes ?? null),
            ),
            targetRow(
              'embedded idle (1st start)',
              '<= 250',
              worst(rounds, (r) => r.embedded?.first.idleBytes ?? null),
            ),
            targetRow(
              'embedded idle (2nd start)',
              '<= 250',
              worst(rounds, (r) => r.embedded?.second.idleBytes ?? null),
            ),
            targetRow(
              'external idle',
              '<= 120',
              worst(rounds, (r) => r.external?.idle.idleBytes ?? null),
            ),
            targetRow(
              'external burst peak',
              '<= 300',
              worst(rounds, (r) => r.external?.burstPeakBytes ?? null),
            ),
          ],
        },
      ],
      data: { knobs, workers: WORKERS, rounds },
    }
  },
}
