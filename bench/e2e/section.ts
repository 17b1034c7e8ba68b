import { benchBareAmqp } from '../amqp-baseline.js'
import { benchPgUpserts } from '../pg-upsert.js'
import { benchJournalCommits } from '../stages/journal-commits.js'
import { jsonBody, runLoad, type LoadResult } from '../stages/loadgen.js'
import {
  deleteRabbitTopology,
  freshDatabase,
  round,
  sleep,
  startEngine,
  uniqueName,
} from '../stages/services.js'
import type { BenchContext, BenchSection, SectionResult } from '../types.js'
import { countRows, rowsProcessedBetween, storeStats, type StoreStats } from './store-stats.js'

const BODY_BYTES = 5 * 1024
const E2E_SECONDS = Number(process.env.BENCH_E2E_SECONDS ?? 60)
const E2E_CONNECTIONS = Number(process.env.BENCH_E2E_CONNECTIONS ?? 50)
const E2E_RATE = Number(process.env.BENCH_E2E_RATE ?? 5000)
const STAGE_SECONDS = Number(process.env.BENCH_STAGE_SECONDS ?? 5)
const WORKERS = process.env.BENCH_E2E_WORKERS ?? '2'
/** Seconds at the start of the max run left out of the sustained rate (start-up, JIT). */
const SETTLE = 5

interface E2eRun {
  offered: string
  load: LoadResult
  /** Rows stored per second while the load ran (after the first SETTLE s). */
  storedPerSecond: number
  /** Latency over the rows received during the run that reached Postgres by the end. */
  latency: StoreStats
  /** Accepted (200) events not yet in Postgres when the measurement ended. */
  notStoredAtEnd: number
  peakRssBytes: number | null
}

/** The engine with RabbitMQ (quorum queue) and a fresh database on the local Postgres. */
async function e2eRun(
  ctx: BenchContext,
  seconds: number,
  rate: number | undefined,
  waitForDrainMs: number,
): Promise<E2eRun> {
  const queue = uniqueName('sluice_bench_e2e')
  const db = await freshDatabase()
  let engine: Awaited<ReturnType<typeof startEngine>> | null = null
  try {
    engine = await startEngine(ctx, {
      SLUICE_BROKER: 'rabbitmq',
      SLUICE_QUEUE: queue,
      DATABASE_URL: db.url,
      SLUICE_WORKERS: WORKERS,
    })
    await engine.pipelineUp()
    const from = Date.now()
    const load = await runLoad(ctx, {
      url: `${engine.base}/webhook`,
      connections: E2E_CONNECTIONS,
      duration: seconds,
      body: jsonBody(BODY_BYTES),
      ...(rate ? { overallRate: rate } : {}),
    })
    const to = Date.now()
    const settle = Math.min(SETTLE, seconds / 4) * 1000
    const stored = await rowsProcessedBetween(db.url, from + settle, to)
    const storedPerSecond = Math.round(stored / ((to - from - settle) / 1000))
    // Let the pipeline catch up (bounded), so the latency covers the tail of the run too.
    const deadline = Date.now() + waitForDrainMs
    let rows = await countRows(db.url)
    while (rows < load.ok && Date.now() < deadline) {
      await sleep(500)
      rows = await countRows(db.url)
    }
    const peakRssBytes = engine.peakRss()
    const latency = await storeStats(db.url, from, to + 1000)
    return {
      offered: rate ? `${rate}/s` : 'max',
      load,
      storedPerSecond,
      latency,
      notStoredAtEnd: Math.max(0, load.ok - rows),
      peakRssBytes,
    }
  } finally {
    await engine?.close()
    await db.drop()
    await deleteRabbitTopology(queue)
  }
}

/** Each stage alone, in this process: journal commits, RabbitMQ confirms, Postgres upserts. */
async function stages(ctx: BenchContext) {
  ctx.log(`stage: journal commits (sync full), ${STAGE_SECONDS} s`)
  const journal = await benchJournalCommits({ seconds: STAGE_SECONDS, bodyBytes: BODY_BYTES })
  ctx.log('stage: RabbitMQ confirms (bare amqplib)')
  const rabbit = await benchBareAmqp({
    queue: uniqueName('sluice_bench_stage'),
    messages: 20_000,
    bodyBytes: BODY_BYTES,
  })
  ctx.log(`stage: Postgres upserts (workers), ${STAGE_SECONDS} s`)
  const db = await freshDatabase()
  let pgRate
  try {
    pgRate = await benchPgUpserts({
      connectionString: db.url,
      mode: 'workers',
      seconds: STAGE_SECONDS,
      threads: Number(WORKERS),
      bodyBytes: BODY_BYTES,
    })
  } finally {
    await db.drop()
  }
  return { journal, rabbit, postgres: pgRate }
}

/**
 * Issue 4: end to end (HTTP -> journal -> forwarder -> RabbitMQ -> consumer -> workers ->
 * Postgres), 5 KB events: at max offered load for BENCH_E2E_SECONDS, then at a fixed rate;
 * beside it the raw rate of each stage alone, same run.
 */
export const e2eSection: BenchSection = {
  name: 'e2e',
  description: `5 KB events, RabbitMQ + local Postgres: max for ${E2E_SECONDS} s, ${E2E_RATE}/s; stages alone`,
  async run(ctx: BenchContext): Promise<SectionResult> {
    const stage = await stages(ctx)
    ctx.log(`end to end, max offered load, ${E2E_SECONDS} s`)
    const max = await e2eRun(ctx, E2E_SECONDS, undefined, 5_000)
    ctx.log(`end to end, ${E2E_RATE} events/s offered, ${ctx.duration} s`)
    const rated = await e2eRun(ctx, ctx.duration, E2E_RATE, 60_000)

    const stageRates = {
      'journal commits': stage.journal.eventsPerSecond,
      'RabbitMQ confirms': stage.rabbit.perSecond,
      'Postgres upserts': stage.postgres.eventsPerSecond,
    }
    const [slowestName, slowest] = Object.entries(stageRates).sort((a, b) => a[1] - b[1])[0]!
    const ratio = slowest > 0 ? max.storedPerSecond / slowest : 0
    const row = (r: E2eRun) => ({
      offered: r.offered,
      'accepted/s': Math.round(r.load.rps),
      'stored/s': r.storedPerSecond,
      'e2e p50 ms': r.latency.p50Ms,
      'e2e p99 ms': r.latency.p99Ms,
      'http p99 ms': r.load.p99,
      'not stored at end': r.notStoredAtEnd,
      'peak RSS MB': r.peakRssBytes === null ? null : Math.round(r.peakRssBytes / 1048576),
    })
    return {
      tables: [
        {
          title: `e2e: 5 KB events, RabbitMQ quorum + local Postgres, ${WORKERS} workers`,
          rows: [row(max), row(rated)],
        },
        {
          title: `e2e: each stage alone, same run (${STAGE_SECONDS} s / 20000 msgs)`,
          rows: Object.entries(stageRates).map(([s, v]) => ({ stage: s, 'events/s': v })),
        },
        {
          title: 'e2e targets',
          rows: [
            {
              metric: `e2e stored/s / slowest stage (${slowestName})`,
              target: '>= 0.5',
              reached: round(ratio),
            },
            {
              metric: 'e2e stored/s at max',
              target: 'stretch 10000',
              reached: max.storedPerSecond,
            },
            {
              metric: `e2e p99 ms at ${E2E_RATE}/s`,
              target: '<= 50',
              reached: rated.latency.p99Ms,
            },
          ],
        },
      ],
      data: { bodyBytes: BODY_BYTES, workers: Number(WORKERS), stages: stage, max, rated, ratio },
    }
  },
}
