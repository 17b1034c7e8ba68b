import { execFileSync } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'

/** CPU time of each thread of a process at one moment, read from /proc (Linux). */
export interface CpuSample {
  /** utime + stime of the whole process (exited threads included), in clock ticks. */
  processTicks: number
  /** tid -> comm and utime + stime of that thread, in clock ticks. */
  threads: Map<number, { name: string; ticks: number }>
}

export interface CpuGroup {
  group: string
  threads: number
  cpuSeconds: number
  /** CPU microseconds per event accepted during the run. */
  usPerEvent: number | null
}

export interface CpuReport {
  events: number
  /** Per thread group: the main thread, each sluice-* name, everything else. */
  groups: CpuGroup[]
  /** The whole process, from /proc/<pid>/stat (counts threads that exited, too). */
  process: CpuGroup
  /** Threads seen in the first sample only: their time after it is not counted in groups. */
  exitedThreads: number
}

let ticksPerSecond: number | null = null

/** `getconf CLK_TCK` (the unit of utime/stime), 100 when it cannot be read. */
function clockTicks(): number {
  if (ticksPerSecond === null) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' })) || 100
    } catch {
      ticksPerSecond = 100
    }
  }
  return ticksPerSecond
}

const readOrNull = (path: string) => {
  try {
    return readFileSync(path, 'utf8')
  } catch {
    return null // the thread (or process) exited in the meantime
  }
}

/** utime + stime: fields 14 and 15 of a stat line, counted after the ')' closing comm. */
function statTicks(stat: string): number {
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ') // fields[0] is field 3
  return Number(fields[11]) + Number(fields[12])
}

export function sampleCpu(pid: number): CpuSample {
  const threads = new Map<number, { name: string; ticks: number }>()
  let tids: string[] = []
  try {
    tids = readdirSync(`/proc/${pid}/task`)
  } catch {
    // the process is gone: an empty sample
  }
  for (const tid of tids) {
    const stat = readOrNull(`/proc/${pid}/task/${tid}/stat`)
    const comm = readOrNull(`/proc/${pid}/task/${tid}/comm`)
    if (stat !== null && comm !== null) {
      threads.set(Number(tid), { name: comm.trim(), ticks: statTicks(stat) })
    }
  }
  const stat = readOrNull(`/proc/${pid}/stat`)
  return { processTicks: stat === null ? 0 : statTicks(stat), threads }
}

/** The main thread runs HTTP; the engine names its own threads sluice-*; the rest is Node's. */
function groupOf(pid: number, tid: number, name: string): string {
  if (tid === pid) return 'http (main)'
  return name.startsWith('sluice-') ? name : 'other (V8, libuv)'
}

/** `ticks` of CPU as a group of `threads` (or processes), and per event when there were any. */
function cpuGroup(group: string, threads: number, ticks: number, events: number): CpuGroup {
  const seconds = ticks / clockTicks()
  return {
    group,
    threads,
    cpuSeconds: Number(seconds.toFixed(2)),
    usPerEvent: events > 0 ? Math.round((seconds * 1e6) / events) : null,
  }
}

const order = (g: string) => (g === 'http (main)' ? 0 : g.startsWith('sluice-') ? 1 : 2)

/** CPU spent between two samples of `pid`, per thread group, over `events` accepted events. */
export function cpuBetween(pid: number, a: CpuSample, b: CpuSample, events: number): CpuReport {
  const toGroup = (group: string, threads: number, ticks: number) =>
    cpuGroup(group, threads, ticks, events)
  const sums = new Map<string, { threads: number; ticks: number }>()
  let exitedThreads = 0
  for (const tid of new Set([...a.threads.keys(), ...b.threads.keys()])) {
    const before = a.threads.get(tid)
    const after = b.threads.get(tid)
    if (!after) exitedThreads++
    // A thread born after the first sample counts from zero; one that exited counts nothing.
    const ticks = after ? after.ticks - (before?.ticks ?? 0) : 0
    const group = groupOf(pid, tid, (after ?? before)!.name)
    const sum = sums.get(group) ?? { threads: 0, ticks: 0 }
    sums.set(group, { threads: sum.threads + 1, ticks: sum.ticks + ticks })
  }
  const groups = [...sums]
    .map(([g, s]) => toGroup(g, s.threads, s.ticks))
    .sort((x, y) => order(x.group) - order(y.group) || x.group.localeCompare(y.group))
  const all = new Set([...a.threads.keys(), ...b.threads.keys()]).size
  return {
    events,
    groups,
    process: toGroup('whole process', all, b.processTicks - a.processTicks),
    exitedThreads,
  }
}

/** utime + stime per process (pid -> clock ticks) at one moment. */
export interface ProcessesSample {
  ticks: Map<number, number>
}

/**
 * utime + stime of every process whose comm is `name` at one moment (the local Postgres: its
 * postmaster, background workers and backends), in clock ticks; with `titleIncludes`, only
 * those whose command line (Postgres's process title: `postgres: user database host state`)
 * includes it, e.g. the backends of one database.
 */
export function sampleProcessesNamed(name: string, titleIncludes?: string): ProcessesSample {
  const ticks = new Map<number, number>()
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    if (readOrNull(`/proc/${pid}/comm`)?.trim() !== name) continue
    if (titleIncludes !== undefined) {
      const title = readOrNull(`/proc/${pid}/cmdline`)
      if (title === null || !title.includes(titleIncludes)) continue
    }
    const stat = readOrNull(`/proc/${pid}/stat`)
    if (stat !== null) ticks.set(Number(pid), statTicks(stat))
  }
  return { ticks }
}

/**
 * CPU between two sampleProcessesNamed samples as one group, over `events`: the processes of the
 * second sample, each from the first sample (or from its start, when it began in between). One
 * that exited in between counts nothing, as with threads: the machine is shared, and other
 * people's short-lived backends would otherwise take their whole lives out of the sum.
 */
export function processesBetween(
  group: string,
  a: ProcessesSample,
  b: ProcessesSample,
  events: number,
): CpuGroup {
  let ticks = 0
  for (const [pid, t] of b.ticks) ticks += t - (a.ticks.get(pid) ?? 0)
  return cpuGroup(group, b.ticks.size, ticks, events)
}
