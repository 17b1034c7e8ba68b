import { ratio, targetRow } from '../burst/tables.js'
import type { CpuGroup, CpuReport } from '../burst/threads.js'
import type { BenchTable, SectionResult } from '../types.js'
import type { BareResult } from './bare-loop.js'
import type { KindStats } from './delivery-stats.js'
import type { EngineRun } from './engine-run.js'
import type { FanOutResult } from './fanout.js'

type Row = BenchTable['rows'][number]

export const mb = (bytes: number | null) => (bytes === null ? null : Math.round(bytes / 1048576))

type WithCpu = { runnerCpuPct: number }

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

export function cpuRows(run: string, cpu: CpuReport, postgres: CpuGroup): Row[] {
  return [...cpu.groups, cpu.process, postgres].map((g) => ({
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

export interface OutboundRuns {
  config: Record<string, number | string>
  bare: (BareResult & WithCpu)[]
  /** Alternating rounds: a[i] then b[i]. */
  a: EngineRun[]
  b: EngineRun[]
  hostileRequests: Record<string, number>
  kinds: KindStats[]
  fan: FanOutResult
  wholeRunPeakRssBytes: number | null
}

const mean = (xs: (number | null)[]) => {
  const ok = xs.filter((x): x is number => x !== null)
  return ok.length === xs.length && ok.length > 0 ? ok.reduce((s, x) => s + x, 0) / ok.length : null
}

/** The section's tables and JSON: (a) and (b) each as the mean of their rounds. */
export function sectionResult(r: OutboundRuns): SectionResult {
  const c = r.config
  const bestBare = Math.max(...r.bare.map((b) => b.perSecond))
  const aRate = mean(r.a.map((x) => x.perSecond))!
  const bRate = mean(r.b.map((x) => x.perSecond))!
  const aP99 = mean(r.a.map((x) => x.latency.p99Ms))
  const bP99 = mean(r.b.map((x) => x.latency.p99Ms))
  const ratios = {
    engineOverBare: ratio(aRate, bestBare),
    healthyRateBOverA: ratio(bRate, aRate),
    healthyP99BOverA: aP99 !== null && bP99 !== null ? ratio(bP99, aP99) : null,
  }
  const n = r.a.length
  const loop = `closed loop of ${c.WINDOW} events x ${c.BODY_BYTES} B, ${c.SECONDS} s after ${c.WARM_SECONDS} s warm-up`
  const hostile = Number(c.HOSTILE_EACH) * 3
  return {
    tables: [
      {
        title: `outbound 1: ${c.HEALTHY} healthy receivers (200 after 5 ms), maxInFlight ${c.MAX_IN_FLIGHT}, ${loop}; engine latency = Sluice's 200 -> receiver read the delivery`,
        rows: [
          bareRow('bare undici loop, before the engine', r.bare[0]!),
          bareRow('bare undici loop, engine idle', r.bare[1]!),
          ...r.a.flatMap((a, i) => [
            driveRow(`(a) round ${i + 1}: engine, healthy only`, a),
            driveRow(`(b) round ${i + 1}: healthy beside ${hostile} hostile`, r.b[i]!),
          ]),
        ],
      },
      {
        title: `outbound 2: deliveries per receiver kind after the last (b) (timeout ${c.TIMEOUT_MS} ms, schedule ${c.SCHEDULE} s; requests received during the (b) runs)`,
        rows: kindRows(r.kinds, r.hostileRequests),
      },
      {
        title:
          'outbound 3: engine CPU per thread group, and the local Postgres (count: its processes), round 1',
        rows: [
          ...cpuRows('(a)', r.a[0]!.cpu, r.a[0]!.postgresCpu),
          ...cpuRows('(b)', r.b[0]!.cpu, r.b[0]!.postgresCpu),
        ],
      },
      {
        title: `outbound 4: one event of ${r.fan.bodyBytes} B fanned out to ${r.fan.subscriptions} subscriptions (Sluice's 200 -> receivers read it)`,
        rows: [fanOutRow(r.fan, r.wholeRunPeakRssBytes)],
      },
      {
        title: 'outbound targets',
        rows: [
          target(
            `(a) engine (mean of ${n}) / bare undici (best of 2) deliveries/s`,
            '>= 0.5',
            ratios.engineOverBare,
          ),
          target(
            `(b) / (a) healthy deliveries/s (means of ${n})`,
            '>= 0.9',
            ratios.healthyRateBOverA,
          ),
          target(`(b) / (a) healthy p99 (means of ${n})`, '<= 1.5', ratios.healthyP99BOverA),
          target(`(c) ms until all ${r.fan.subscriptions} delivered`, 'reported', r.fan.allMs),
          target('(c) engine peak RSS MB during the fan-out', 'reported', mb(r.fan.peakRssBytes)),
        ],
      },
    ],
    data: { ...r, ratios },
  }
}
