import { randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import amqp from 'amqplib'
import pg from 'pg'
import { deleteTopology, queueNames } from '../../src/brokers/rabbitmq/topology.js'
import { peakRss, startNode, stop } from '../proc.js'
import type { BenchContext } from '../types.js'

export const AMQP_URL = process.env.BENCH_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672'
export const PG_ADMIN_URL =
  process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'

/** A name no other run (or engineer) uses: queues and databases are shared services. */
export function uniqueName(prefix: string): string {
  return `${prefix}_${process.pid}_${randomBytes(3).toString('hex')}`
}

/** A fresh database on the local server; drop() removes it (and its connections). */
export async function freshDatabase(prefix = 'sluice_bench') {
  const name = uniqueName(prefix)
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL })
  await admin.connect()
  try {
    await admin.query(`CREATE DATABASE ${name}`)
  } finally {
    await admin.end()
  }
  return {
    name,
    url: PG_ADMIN_URL.replace(/\/[^/]*$/, `/${name}`),
    drop: async () => {
      const c = new pg.Client({ connectionString: PG_ADMIN_URL })
      await c.connect()
      try {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
      } finally {
        await c.end()
      }
    },
  }
}

/** Delete what a RabbitBroker declared for `queue` (main, retry and dead-letter queues, DLX). */
export async function deleteRabbitTopology(queue: string): Promise<void> {
  const n = queueNames(queue)
  const conn = await amqp.connect(AMQP_URL)
  try {
    const ch = await conn.createChannel()
    await deleteTopology(ch, n)
    await ch.close()
  } finally {
    await conn.close().catch(() => {})
  }
}

/** A loopback port nothing listens on (bound then released). */
export async function deadPort(): Promise<number> {
  const s = net.createServer()
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r))
  const port = (s.address() as net.AddressInfo).port
  await new Promise<void>((r) => s.close(() => r()))
  return port
}

export interface ReadyzBody {
  status: string
  checks: {
    journal?: { backlog?: number }
    broker?: { state?: string }
    database?: { state?: string; consuming?: boolean }
  }
}

/** The environment of an engine on RabbitMQ (queue `queue`) and the database at `databaseUrl`. */
export const rabbitPipelineEnv = (queue: string, databaseUrl: string, workers: number) => ({
  SLUICE_BROKER: 'rabbitmq',
  AMQP_URL,
  SLUICE_QUEUE: queue,
  DATABASE_URL: databaseUrl,
  SLUICE_WORKERS: String(workers),
})

/**
 * The Node flags `npm start` gives the engine in the checkout `root` (its package.json's start
 * script, `node <flags> bin/sluice.js start`), so an older checkout runs as it shipped.
 */
export function startFlags(root: string): string[] {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
    scripts?: { start?: string }
  }
  const words = (pkg.scripts?.start ?? '').split(/\s+/)
  const from = words.indexOf('node')
  const to = words.indexOf('bin/sluice.js')
  return from >= 0 && to > from ? words.slice(from + 1, to) : []
}

/**
 * Spawn the engine (bench/ingest/engine-server.ts, i.e. what `sluice start` runs) of the built
 * checkout `root` on `dataDir`, `env` over the bench defaults, and wait for its 'listening' line.
 */
export function spawnEngine(root: string, dataDir: string, env: NodeJS.ProcessEnv) {
  return startNode(
    join(root, 'dist', 'bench', 'ingest', 'engine-server.js'),
    [],
    {
      PORT: '0',
      HOST: '127.0.0.1',
      SLUICE_DATA_DIR: dataDir,
      SLUICE_LOG_LEVEL: 'warn',
      // A free port: the fixed default (8081) may be taken by another engine on the machine.
      SLUICE_ADMIN_PORT: '0',
      ...env,
    },
    (l) => l.msg === 'listening',
    // e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof": a profile per thread when the engine stops.
    [...startFlags(root), ...(process.env.BENCH_ENGINE_NODE_ARGS ?? '').split(' ').filter(Boolean)],
  )
}

/**
 * Sluice's engine in its own process, configured by `env` on top of bench defaults (sync full,
 * a temp data dir, warn logs). `root` is the built checkout to start it from: this one by
 * default, another (older) one to compare against (the burst section's baseline).
 */
export async function startEngine(ctx: BenchContext, env: NodeJS.ProcessEnv, root = ctx.root) {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-bench-'))
  const { child, line } = await spawnEngine(root, dir, { SLUICE_JOURNAL_SYNC: 'full', ...env })
  const base = `http://127.0.0.1:${Number(line.port)}`
  const readyz = async (): Promise<ReadyzBody> => {
    const r = await fetch(`${base}/readyz`)
    return (await r.json()) as ReadyzBody
  }
  return {
    base,
    pid: child.pid,
    readyz,
    /** Wait until the broker is up and the consumer runs (the whole pipeline). */
    async pipelineUp(timeoutMs = 60_000): Promise<void> {
      const deadline = Date.now() + timeoutMs
      for (;;) {
        const c = (await readyz()).checks
        if (c.broker?.state === 'up' && c.database?.state === 'up' && c.database.consuming) return
        if (Date.now() > deadline) throw new Error(`pipeline not up: ${JSON.stringify(c)}`)
        await new Promise((r) => setTimeout(r, 200))
      }
    },
    peakRss: () => peakRss(child.pid),
    close: async () => {
      await stop(child)
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

export type RunningEngine = Awaited<ReturnType<typeof startEngine>>

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))
export const round = (v: number, digits = 2) => Number(v.toFixed(digits))
