import { performance } from 'node:perf_hooks'
import {
  cpuBetween,
  processesBetween,
  sampleCpu,
  sampleProcessesNamed,
  type CpuGroup,
  type CpuReport,
} from '../burst/threads.js'
import { storeStats, type StoreStats } from '../e2e/store-stats.js'
import { writeBatches, type WriteBatches } from './delivery-stats.js'
import { drive, type DriveResult, type DriveSpec } from './driver.js'
import type { ReceiverFarm } from './receivers.js'

/** `f`'s result with the CPU this process (the receivers) used meanwhile, in % of one core. */
export async function withRunnerCpu<T extends object>(f: () => Promise<T>) {
  const cpu = process.cpuUsage()
  const t0 = performance.now()
  const r = await f()
  const used = process.cpuUsage(cpu)
  const pct = ((used.user + used.system) / 1000 / (performance.now() - t0)) * 100
  return { ...r, runnerCpuPct: Math.round(pct) }
}

export interface EngineRun extends DriveResult {
  runnerCpuPct: number
  /** The engine's CPU per thread group, per healthy delivery measured. */
  cpu: CpuReport
  /** Every local postgres process (the bench's database shares the machine's cluster). */
  postgresCpu: CpuGroup
  /** The backends of the bench's database only: the engine's connections (and the bench's). */
  postgresDbCpu: CpuGroup
  /** receive -> row (events table) of the run's events: the ingest part of the latency. */
  stored: StoreStats
  /** The dispatcher's result writes during the run. */
  writes: WriteBatches
}

/** One closed-loop run through the engine (pid) with what explains its numbers around it. */
export async function engineRun(
  farm: ReceiverFarm,
  spec: DriveSpec,
  engine: { pid: number; databaseUrl: string },
): Promise<EngineRun> {
  // Postgres's process title names the database: `postgres: <cluster>: <user> <db> <host> ...`.
  const title = ` ${new URL(engine.databaseUrl).pathname.slice(1)} `
  const cpu0 = sampleCpu(engine.pid)
  const pg0 = sampleProcessesNamed('postgres')
  const db0 = sampleProcessesNamed('postgres', title)
  const from = Date.now()
  const r = await withRunnerCpu(() => drive(farm, spec))
  const to = Date.now()
  return {
    ...r,
    cpu: cpuBetween(engine.pid, cpu0, sampleCpu(engine.pid), r.deliveries),
    postgresCpu: processesBetween('postgres', pg0, sampleProcessesNamed('postgres'), r.deliveries),
    postgresDbCpu: processesBetween(
      'postgres: bench db backends',
      db0,
      sampleProcessesNamed('postgres', title),
      r.deliveries,
    ),
    stored: await storeStats(engine.databaseUrl, from, to),
    writes: await writeBatches(engine.databaseUrl, from, to),
  }
}
