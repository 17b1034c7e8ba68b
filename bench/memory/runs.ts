import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pipelineRun } from '../burst/runs.js'
import { stop } from '../proc.js'
import {
  deleteRabbitTopology,
  freshDatabase,
  rabbitPipelineEnv,
  sleep,
  spawnEngine,
  uniqueName,
  type ReadyzBody,
} from '../stages/services.js'
import type { BenchContext } from '../types.js'
import { RssSampler } from './sampler.js'

export interface MemoryKnobs {
  /** Seconds after the spawn that count as the start (the first start's peak window). */
  startSeconds: number
  /** Seconds averaged for the idle level, after the start window and the pipeline is up. */
  idleSeconds: number
  burstSeconds: number
  drainMaxSeconds: number
}

/** Peak over the start window and the idle level after it, in bytes. */
export interface StartMemory {
  peakBytes: number
  idleBytes: number | null
  /** Seconds from the spawn until the database and the consumer were up (null: not in time). */
  upSeconds: number | null
}

const pipelineIsUp = (c: ReadyzBody['checks']) =>
  c.broker?.state === 'up' && c.database?.state === 'up' && c.database.consuming === true

/**
 * Start the engine from `root` on `dataDir` (kept), sample its RSS through the start window,
 * wait for the pipeline to be up, then average the idle window. Embedded defaults unless `env`
 * says otherwise.
 */
export async function measureStart(
  ctx: BenchContext,
  root: string,
  dataDir: string,
  k: MemoryKnobs,
  env: NodeJS.ProcessEnv = {},
): Promise<StartMemory> {
  const spawnedAt = Date.now()
  // The embedded defaults: no DATABASE_URL (undefined drops it from the child's environment),
  // the local queue, unless env names others.
  const { child, line } = await spawnEngine(root, dataDir, {
    DATABASE_URL: undefined,
    SLUICE_BROKER: 'local',
    ...env,
  })
  const sampler = new RssSampler(child.pid ?? 0)
  try {
    const base = `http://127.0.0.1:${Number(line.port)}`
    const startEnd = spawnedAt + k.startSeconds * 1000
    let upSeconds: number | null = null
    // Up within the start window or the 120 s after it; the idle window follows both.
    while (Date.now() < startEnd + 120_000) {
      const body = (await (await fetch(`${base}/readyz`)).json()) as ReadyzBody
      if (pipelineIsUp(body.checks)) {
        upSeconds = (Date.now() - spawnedAt) / 1000
        break
      }
      await sleep(250)
    }
    if (upSeconds === null) ctx.log('pipeline not up 120 s after the start window')
    await sleep(Math.max(0, startEnd - Date.now()))
    const peakBytes = sampler.peak()
    const idleFrom = Date.now()
    await sleep(k.idleSeconds * 1000)
    return { peakBytes, idleBytes: sampler.meanSince(idleFrom), upSeconds }
  } finally {
    sampler.stop()
    await stop(child)
  }
}

export interface EmbeddedMemory {
  first: StartMemory
  second: StartMemory
}

/** Embedded defaults: the first start on a fresh data directory, then a second one on it. */
export async function embeddedRun(
  ctx: BenchContext,
  root: string,
  k: MemoryKnobs,
): Promise<EmbeddedMemory> {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-bench-mem-'))
  try {
    const first = await measureStart(ctx, root, dir, k)
    const second = await measureStart(ctx, root, dir, k)
    return { first, second }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

export interface ExternalMemory {
  /** Idle after the start, with RabbitMQ and a fresh database on the local Postgres. */
  idle: StartMemory
  /** Peak of the burst section's max-load run (load and drain), in bytes. */
  burstPeakBytes: number | null
  burstEvents: number
  burstDrainSeconds: number | null
}

/** External Postgres (a fresh database) and RabbitMQ: idle level, then a burst's peak. */
export async function externalRun(
  ctx: BenchContext,
  root: string,
  k: MemoryKnobs,
  workers: number,
): Promise<ExternalMemory> {
  const queue = uniqueName('sluice_bench_mem')
  const db = await freshDatabase()
  const dir = mkdtempSync(join(tmpdir(), 'sluice-bench-mem-'))
  let idle: StartMemory
  try {
    idle = await measureStart(ctx, root, dir, k, rabbitPipelineEnv(queue, db.url, workers))
  } finally {
    rmSync(dir, { recursive: true, force: true })
    await db.drop()
    await deleteRabbitTopology(queue)
  }
  const burst = await pipelineRun(
    ctx,
    { seconds: k.burstSeconds, connections: 50 },
    { workers, drainMaxSeconds: k.drainMaxSeconds, root },
  )
  return {
    idle,
    burstPeakBytes: burst.peakRssBytes,
    burstEvents: burst.load.ok,
    burstDrainSeconds: burst.drainSeconds,
  }
}
