import { round } from '../stages/services.js'
import type { BenchTable } from '../types.js'
import type { PipelineRun } from './runs.js'

type Row = BenchTable['rows'][number]

/** µs of CPU per stored row by part: the engine's threads, Postgres, RabbitMQ, and the sum. */
export interface StoreCpu {
  rows: number
  /** Engine thread group -> µs per row stored. */
  engine: Record<string, number>
  engineTotal: number
  postgres: number
  postgresWriters: number
  rabbit: number
  total: number
}

const us = (cpuSeconds: number, rows: number) => (rows > 0 ? (cpuSeconds * 1e6) / rows : 0)

export function storeCpu(r: PipelineRun): StoreCpu {
  const rows = r.rowsStored
  const engine: Record<string, number> = {}
  for (const g of r.cpu.groups) engine[g.group] = Math.round(us(g.cpuSeconds, rows))
  const engineTotal = us(r.cpu.process.cpuSeconds, rows)
  const postgres = us(r.services.pgBackends.cpuSeconds, rows)
  const postgresWriters = us(r.services.pgWriters.cpuSeconds, rows)
  const rabbit = us(r.services.rabbit.cpuSeconds, rows)
  return {
    rows,
    engine,
    engineTotal: Math.round(engineTotal),
    postgres: Math.round(postgres),
    postgresWriters: Math.round(postgresWriters),
    rabbit: Math.round(rabbit),
    total: Math.round(engineTotal + postgres + postgresWriters + rabbit),
  }
}

/** The mean of several runs' StoreCpu (alternating rounds), part by part. */
export function meanStoreCpu(all: StoreCpu[]): StoreCpu {
  const avg = (f: (s: StoreCpu) => number) =>
    Math.round(all.reduce((a, s) => a + f(s), 0) / Math.max(1, all.length))
  const groups = new Set(all.flatMap((s) => Object.keys(s.engine)))
  return {
    rows: avg((s) => s.rows),
    engine: Object.fromEntries([...groups].map((g) => [g, avg((s) => s.engine[g] ?? 0)])),
    engineTotal: avg((s) => s.engineTotal),
    postgres: avg((s) => s.postgres),
    postgresWriters: avg((s) => s.postgresWriters),
    rabbit: avg((s) => s.rabbit),
    total: avg((s) => s.total),
  }
}

/** One row per run: µs per stored event by part, and the whole "engine + RabbitMQ + Postgres". */
export function storeCpuRow(run: string, s: StoreCpu): Row {
  return {
    run,
    rows: s.rows,
    ...Object.fromEntries(Object.entries(s.engine).map(([g, v]) => [`engine ${g}`, v])),
    'engine (process)': s.engineTotal,
    rabbitmq: s.rabbit,
    'postgres backends': s.postgres,
    'postgres writers': s.postgresWriters,
    'µs per stored event': s.total,
  }
}

export const storeCpuRatioRow = (cur: StoreCpu, old: StoreCpu): Row => ({
  run: 'current / baseline (target <= 0.65)',
  'engine (process)': round(cur.engineTotal / old.engineTotal),
  rabbitmq: round(cur.rabbit / Math.max(1, old.rabbit)),
  'postgres backends': round(cur.postgres / Math.max(1, old.postgres)),
  'µs per stored event': round(cur.total / old.total),
})
