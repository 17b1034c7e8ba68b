// Rows of the outbound tables, shared by tables.ts ((a)-(c)) and tables-de.ts ((d), (e)).
import { targetRow } from '../burst/tables.js'
import type { CpuGroup, CpuReport } from '../burst/threads.js'
import type { BenchTable } from '../types.js'
import type { BareResult } from './bare-loop.js'
import type { KindStats } from './delivery-stats.js'
import type { EngineRun } from './engine-run.js'
import type { FanOutResult } from './fanout.js'

type Row = BenchTable['rows'][number]

export const mb = (bytes: number | null) => (bytes === null ? null : Math.round(bytes / 1048576))

export type WithCpu = { runnerCpuPct: number }

export function bareRow(run: string, r: BareResult & WithCpu): Row {
  return {
    run: `${run} (latency: request start -> response end)`,
    'deliveries/s': r.perSecond,
    'p50 ms': r.p50Ms,
    'p99 ms': r.p99Ms,
    'max ms': null,
    events: null,
    'dup.': null,
    'errors/incomplete': r.errors,
    'receivers CPU %': r.runnerCpuPct,
    'receive->row p50/p99 ms': null,
    'result writes (avg/max results)': null,
  }
}

export function driveRow(run: string, r: EngineRun): Row {
  return {
    run,
    'deliveries/s': r.perSecond,
    'p50 ms': r.latency.p50Ms,
    'p99 ms': r.latency.p99Ms,
    'max ms': r.latency.maxMs,
    events: r.events,
    'dup.': r.duplicates,
    'errors/incomplete': r.postFailures + r.incomplete,
    'receivers CPU %': r.runnerCpuPct,
    'receive->row p50/p99 ms': `${r.stored.p50Ms} / ${r.stored.p99Ms}`,
    'result writes (avg/max results)': `${r.writes.writes} (${r.writes.avgResults}/${r.writes.maxResults})`,
  }
}

export function kindRows(stats: KindStats[], requests: Record<string, number>): Row[] {
  return stats.map((s) => ({
    receivers: s.kind,
    'requests received': requests[s.kind] ?? null,
    deliveries: s.deliveries,
    attempts: s.attempts,
    succeeded: s.succeeded,
    pending: s.pending,
    failed: s.failed,
    cancelled: s.cancelled,
    'failed attempts by error': s.errors || '-',
  }))
}

export function cpuRows(run: string, cpu: CpuReport, ...postgres: CpuGroup[]): Row[] {
  return [...cpu.groups, cpu.process, ...postgres].map((g) => ({
    run,
    threads: g.group,
    count: g.threads,
    'CPU s': g.cpuSeconds,
    'µs/delivery': g.usPerEvent,
  }))
}

export function fanOutRow(f: FanOutResult, wholeRunPeak: number | null): Row {
  return {
    subscriptions: f.subscriptions,
    'created in s': f.createSeconds,
    'first ms': f.firstMs,
    'all delivered ms': f.allMs ?? `not within the timeout (${f.delivered})`,
    'dup.': f.duplicates,
    'peak RSS MB (fan-out)': mb(f.peakRssBytes),
    'peak RSS MB (whole run)': mb(wholeRunPeak),
  }
}

/** burst's target row with PASS/FAIL; a goal that is not `>= N` or `<= N` is only reported. */
export function target(metric: string, goal: string, reached: number | null): Row {
  if (!/^(>=|<=) /.test(goal)) return { metric, target: goal, reached, met: '-' }
  const row = targetRow(metric, goal, reached)
  return { ...row, met: row.met === 'yes' ? 'PASS' : row.met === 'no' ? 'FAIL' : '-' }
}

/** The mean, or null when there is none or one is missing. */
export const mean = (xs: (number | null)[]) => {
  const ok = xs.filter((x): x is number => x !== null)
  return ok.length === xs.length && ok.length > 0 ? ok.reduce((s, x) => s + x, 0) / ok.length : null
}
