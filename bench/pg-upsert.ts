/**
 * Raw Postgres upsert rate: the store path alone (no HTTP, journal or broker), either from the
 * Piscina worker threads or from the main thread with the same number of connections.
 *
 *   node --import=./node_modules/@tapjs/typescript/dist/esm/import.mjs bench/pg-upsert.ts \
 *     [workers|main] [seconds] [batch] [threads]
 *   (or from the build: node dist/bench/pg-upsert.js ...)
 */
import { randomBytes } from 'node:crypto'
import { availableParallelism } from 'node:os'
import { performance } from 'node:perf_hooks'
import { pathToFileURL } from 'node:url'
import pg from 'pg'
import { Maintenance } from '../src/db/maintenance.js'
import { migrate } from '../src/db/migrate.js'
import { createPool } from '../workers/pool.js'
import type { StorableEvent } from '../src/event.js'
import { storeBatch } from '../workers/insert.js'

export interface PgUpsertBenchOptions {
  /** Database to write to (migrated here if needed). */
  connectionString: string
  /** `workers`: batches go through the Piscina pool; `main`: storeBatch on the main thread. */
  mode: 'workers' | 'main'
  /** @defaultValue 10 */
  seconds?: number
  /** Events per batch (one multi-row statement). @defaultValue 500 */
  batchSize?: number
  /** Worker threads, or main-thread connections; batches in flight. @defaultValue cores */
  threads?: number
  /** Body size in bytes. @defaultValue 5120 */
  bodyBytes?: number
}

export interface PgUpsertBenchResult {
  mode: 'workers' | 'main'
  events: number
  seconds: number
  eventsPerSecond: number
  batchSize: number
  threads: number
  bodyBytes: number
  /** Share of the time the main thread's event loop was busy (what is left for HTTP etc.). */
  mainThreadBusy: number
}

function makeBody(bytes: number): Buffer {
  // A JSON body of the requested size, as webhooks mostly are (parsing is part of the work).
  const head = '{"type":"bench.event","data":"'
  const pad = randomBytes(bytes)
    .toString('base64')
    .slice(0, Math.max(0, bytes - head.length - 2))
  return Buffer.from(`${head}${pad}"}`)
}

export async function benchPgUpserts(o: PgUpsertBenchOptions): Promise<PgUpsertBenchResult> {
  const seconds = o.seconds ?? 10
  const batchSize = o.batchSize ?? 500
  const threads = o.threads ?? availableParallelism()
  const bodyBytes = o.bodyBytes ?? 5120
  const main = new pg.Pool({ connectionString: o.connectionString, max: threads })
  main.on('error', () => {})
  const workers =
    o.mode === 'workers' ? createPool({ connectionString: o.connectionString, threads }) : null
  try {
    await migrate(main)
    await new Maintenance({ pool: main }).runOnce()
    const body = makeBody(bodyBytes)
    const run = randomBytes(4).toString('hex')
    let seq = 0
    const nextBatch = (): StorableEvent[] =>
      Array.from({ length: batchSize }, () => ({
        id: `${run}-${seq++}`,
        source: 'bench',
        receivedAt: Date.now(),
        contentType: 'application/json',
        headers: { 'content-type': 'application/json', 'x-event-type': 'bench' },
        body,
        verifiedBy: null,
      }))
    const store = (b: StorableEvent[]) => (workers ? workers.run(b) : storeBatch(main, b))
    // Warm-up: connections, worker start-up and statement caches out of the measurement.
    await Promise.all(Array.from({ length: threads }, () => store(nextBatch())))
    let events = 0
    const elu = performance.eventLoopUtilization()
    const started = performance.now()
    const deadline = started + seconds * 1000
    const lane = async () => {
      while (performance.now() < deadline) {
        const results = await store(nextBatch())
        events += results.filter((r) => r.ok).length
      }
    }
    await Promise.all(Array.from({ length: threads }, lane))
    const elapsed = (performance.now() - started) / 1000
    const mainThreadBusy = performance.eventLoopUtilization(elu).utilization
    return {
      mainThreadBusy: Math.round(mainThreadBusy * 100) / 100,
      mode: o.mode,
      events,
      seconds: elapsed,
      eventsPerSecond: Math.round(events / elapsed),
      batchSize,
      threads,
      bodyBytes,
    }
  } finally {
    await workers?.close()
    await main.end()
  }
}

// Standalone: a fresh database on the local server, dropped afterwards.
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const [mode = 'workers', seconds = '10', batch = '500', threads] = process.argv.slice(2)
  const admin = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'
  const name = `sluice_bench_${randomBytes(4).toString('hex')}`
  const c = new pg.Client({ connectionString: admin })
  await c.connect()
  await c.query(`CREATE DATABASE ${name}`)
  try {
    const result = await benchPgUpserts({
      connectionString: admin.replace(/\/[^/]*$/, `/${name}`),
      mode: mode === 'main' ? 'main' : 'workers',
      seconds: Number(seconds),
      batchSize: Number(batch),
      ...(threads ? { threads: Number(threads) } : {}),
    })
    console.log(JSON.stringify(result))
  } finally {
    await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
    await c.end()
  }
}
