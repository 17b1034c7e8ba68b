import { probeFsync, type FsyncLatency } from './fsync-probe.js'
import pg from 'pg'
import { countRows, rowsProcessedBetween, storeStats, type StoreStats } from '../e2e/store-stats.js'
import { jsonBody, runLoad, type LoadResult } from '../stages/loadgen.js'
import {
  deadPort,
  deleteRabbitTopology,
  freshDatabase,
  rabbitPipelineEnv,
  sleep,
  startEngine,
  uniqueName,
} from '../stages/services.js'
import type { BenchContext } from '../types.js'
import { sampleServices, servicesBetween, type ServicesCpu } from './services-cpu.js'
import { cpuBetween, sampleCpu, type CpuReport } from './threads.js'

export const BODY_BYTES = 5 * 1024
/** Seconds at the start of a run left out of the stored rate (start-up, JIT), as e2e does. */
export const settleSeconds = (loadSeconds: number) => Math.min(5, loadSeconds / 4)

export interface LoadShape {
  seconds: number
  connections: number
  /** Offered requests/s in total; max when absent. */
  rate?: number
}

const loadOf = (ctx: BenchContext, base: string, s: LoadShape) =>
  runLoad(ctx, {
    url: `${base}/webhook`,
    connections: s.connections,
    duration: s.seconds,
    body: jsonBody(BODY_BYTES),
    ...(s.rate ? { overallRate: s.rate } : {}),
  })

/** Ingest alone: RabbitMQ and Postgres at a closed port, so nothing behind the journal works. */
export async function ingestAlone(ctx: BenchContext, s: LoadShape): Promise<LoadResult> {
  const dead = await deadPort()
  const engine = await startEngine(ctx, {
    SLUICE_BROKER: 'rabbitmq',
    AMQP_URL: `amqp://guest:guest@127.0.0.1:${dead}`,
    SLUICE_QUEUE: 'sluice_bench_unreachable',
    DATABASE_URL: `postgres://postgres@127.0.0.1:${dead}/none`,
  })
  try {
    return await loadOf(ctx, engine.base, s)
  } finally {
    await engine.close()
  }
}

export interface PipelineRun {
  load: LoadResult
  /** Rows stored per second while the load ran (after the first settleSeconds). */
  storedPerSecond: number
  /** Every row over the whole time from load start to drain end: the end-to-end rate. */
  storedOverallPerSecond: number
  /** Rows in Postgres when the load ended. */
  rowsAtLoadEnd: number
  /** Load end until every accepted event was a row (null: not within drainMaxSeconds). */
  drainSeconds: number | null
  /** Rows stored per second during the drain. */
  drainPerSecond: number | null
  /** Accepted (200) events not in Postgres when the measurement ended. */
  notStoredAtEnd: number
  /** receive -> row latency of the rows received during the load (when asked for). */
  latency: StoreStats | null
  /** The disk's fdatasync latency during the load (when asked for). */
  fsync: FsyncLatency | null
  /** CPU from load start to the end of the drain, per thread group of the engine. */
  cpu: CpuReport
  /** Postgres and RabbitMQ CPU over the same time, per row stored (services-cpu.ts). */
  services: ServicesCpu
  /** Rows stored when the measurement ended (the denominator of services). */
  rowsStored: number
  peakRssBytes: number | null
}

/** Latest processed_at in ms since the epoch (null for an empty table). */
async function lastProcessedAt(url: string): Promise<number | null> {
  const c = new pg.Client({ connectionString: url })
  await c.connect()
  try {
    const { rows } = await c.query<{ t: number | null }>(
      'SELECT extract(epoch FROM max(processed_at)) * 1000 AS t FROM events',
    )
    return rows[0]?.t === null || rows[0]?.t === undefined ? null : Number(rows[0].t)
  } finally {
    await c.end()
  }
}

/**
 * The whole pipeline (RabbitMQ quorum queue, a fresh database on the local Postgres) under
 * `shape`, then, when drainMaxSeconds > 0, until every accepted event is a row. `root` picks
 * the checkout the engine runs from (the baseline).
 */
export async function pipelineRun(
  ctx: BenchContext,
  shape: LoadShape,
  o: {
    workers: number
    drainMaxSeconds: number
    latency?: boolean
    root?: string
    /** Probe the disk's fdatasync latency while the load runs (fsync-probe.ts). */
    fsyncProbe?: boolean
  },
): Promise<PipelineRun> {
  const queue = uniqueName('sluice_bench_burst')
  const db = await freshDatabase()
  let engine: Awaited<ReturnType<typeof startEngine>> | null = null
  try {
    engine = await startEngine(ctx, rabbitPipelineEnv(queue, db.url, o.workers), o.root)
    await engine.pipelineUp()
    const pid = engine.pid ?? 0
    const cpuAtStart = sampleCpu(pid)
    const servicesAtStart = sampleServices(db.name)
    const from = Date.now()
    const [load, fsync] = await Promise.all([
      loadOf(ctx, engine.base, shape),
      o.fsyncProbe ? probeFsync(shape.seconds) : null,
    ])
    const to = Date.now()
    const settle = settleSeconds(shape.seconds) * 1000
    const stored = await rowsProcessedBetween(db.url, from + settle, to)
    const storedPerSecond = Math.round(stored / ((to - from - settle) / 1000))
    const rowsAtLoadEnd = await countRows(db.url)
    let rows = rowsAtLoadEnd
    const deadline = to + o.drainMaxSeconds * 1000
    while (rows < load.ok && Date.now() < deadline) {
      await sleep(500)
      rows = await countRows(db.url)
    }
    const cpu = cpuBetween(pid, cpuAtStart, sampleCpu(pid), load.ok)
    const services = servicesBetween(servicesAtStart, db.name, rows)
    const peakRssBytes = engine.peakRss()
    const drained = rows >= load.ok
    // Drained: up to the last row's own timestamp, not the poll that saw it (500 ms apart).
    const last = !drained
      ? Date.now()
      : rowsAtLoadEnd >= load.ok
        ? to
        : await lastProcessedAt(db.url)
    const seconds = Math.max(0, (last ?? to) - to) / 1000
    return {
      load,
      storedPerSecond,
      storedOverallPerSecond: Math.round(rows / (Math.max(1, (last ?? to) - from) / 1000)),
      rowsAtLoadEnd,
      drainSeconds: drained ? Number(seconds.toFixed(2)) : null,
      drainPerSecond: seconds > 0 ? Math.round((rows - rowsAtLoadEnd) / seconds) : null,
      notStoredAtEnd: Math.max(0, load.ok - rows),
      latency: o.latency ? await storeStats(db.url, from, to + 1000) : null,
      fsync,
      cpu,
      services,
      rowsStored: rows,
      peakRssBytes,
    }
  } finally {
    await engine?.close()
    await db.drop()
    await deleteRabbitTopology(queue)
  }
}
