import { ratio } from '../burst/tables.js'
import type { BenchTable, SectionResult } from '../types.js'
import type { BareResult } from './bare-loop.js'
import type { KindStats } from './delivery-stats.js'
import type { EngineRun } from './engine-run.js'
import type { FanOutResult } from './fanout.js'
import type { FlakyResult } from './flaky.js'
import type { OrderedRounds } from './ordered.js'
import {
  bareRow,
  cpuRows,
  driveRow,
  fanOutRow,
  kindRows,
  mb,
  mean,
  target,
  type WithCpu,
} from './rows.js'
import { deTargets, flakyTable, orderedRatios, orderedTables } from './tables-de.js'

type Row = BenchTable['rows'][number]

export interface OutboundRuns {
  config: Record<string, number | string>
  /** The parts run (BENCH_OUTBOUND_PARTS): a, b, c, d, e. */
  parts: string[]
  /** Empty when (a) was not run. */
  bare: (BareResult & WithCpu)[]
  /** Alternating rounds: a[i] then b[i]. */
  a: EngineRun[]
  b: EngineRun[]
  hostileRequests: Record<string, number>
  kinds: KindStats[]
  fan: FanOutResult | null
  ordered: OrderedRounds | null
  flaky: FlakyResult | null
  wholeRunPeakRssBytes: number | null
}

const ratioOf = (a: number | null, b: number | null) =>
  a !== null && b !== null ? ratio(a, b) : null

/** The section's tables and JSON: (a) and (b) each as the mean of their rounds. */
export function sectionResult(r: OutboundRuns): SectionResult {
  const c = r.config
  const bestBare = r.bare.length > 0 ? Math.max(...r.bare.map((b) => b.perSecond)) : null
  const aRate = mean(r.a.map((x) => x.perSecond))
  const bRate = mean(r.b.map((x) => x.perSecond))
  const ratios = {
    engineOverBare: ratioOf(aRate, bestBare),
    healthyRateBOverA: ratioOf(bRate, aRate),
    healthyP99BOverA: ratioOf(
      mean(r.b.map((x) => x.latency.p99Ms)),
      mean(r.a.map((x) => x.latency.p99Ms)),
    ),
    ...(r.ordered ? orderedRatios(r.ordered) : {}),
  }
  const n = Math.max(r.a.length, r.b.length)
  const loop = `closed loop of ${c.WINDOW} events x ${c.BODY_BYTES} B, ${c.SECONDS} s after ${c.WARM_SECONDS} s warm-up`
  const hostile = Number(c.HOSTILE_EACH) * 3
  const tables: BenchTable[] = []
  if (n > 0) {
    tables.push({
      title: `outbound 1: ${c.HEALTHY} healthy receivers (200 after 5 ms), maxInFlight ${c.MAX_IN_FLIGHT}, ${loop}; engine latency = Sluice's 200 -> receiver read the delivery`,
      rows: [
        ...r.bare.map((b, i) =>
          bareRow(`bare undici loop, ${i === 0 ? 'before the engine' : 'engine idle'}`, b),
        ),
        ...Array.from({ length: n }, (_, i) => [
          ...(r.a[i] ? [driveRow(`(a) round ${i + 1}: engine, healthy only`, r.a[i])] : []),
          ...(r.b[i]
            ? [driveRow(`(b) round ${i + 1}: healthy beside ${hostile} hostile`, r.b[i])]
            : []),
        ]).flat(),
      ],
    })
  }
  if (r.b.length > 0) {
    tables.push({
      title: `outbound 2: deliveries per receiver kind after the last (b) (timeout ${c.TIMEOUT_MS} ms, schedule ${c.SCHEDULE} s; requests received during the (b) runs)`,
      rows: kindRows(r.kinds, r.hostileRequests),
    })
  }
  if (n > 0) {
    tables.push({
      title:
        "outbound 3: engine CPU per thread group, the local Postgres (count: its processes, those alive at both ends) and the bench database's backends alone, round 1",
      rows: [
        ...(r.a[0] ? cpuRows('(a)', r.a[0].cpu, r.a[0].postgresCpu, r.a[0].postgresDbCpu) : []),
        ...(r.b[0] ? cpuRows('(b)', r.b[0].cpu, r.b[0].postgresCpu, r.b[0].postgresDbCpu) : []),
      ],
    })
  }
  if (r.fan) {
    tables.push({
      title: `outbound 4: one event of ${r.fan.bodyBytes} B fanned out to ${r.fan.subscriptions} subscriptions (Sluice's 200 -> receivers read it)`,
      rows: [fanOutRow(r.fan, r.wholeRunPeakRssBytes)],
    })
  }
  if (r.ordered) tables.push(...orderedTables(r.ordered, c))
  if (r.flaky) tables.push(flakyTable(r.flaky, c))
  const targets: Row[] = []
  if (r.a.length > 0) {
    targets.push(
      target(
        `(a) engine (mean of ${r.a.length}) / bare undici (best of ${r.bare.length}) deliveries/s`,
        '>= 0.5',
        ratios.engineOverBare,
      ),
    )
  }
  if (r.b.length > 0) {
    targets.push(
      target(`(b) / (a) healthy deliveries/s (means of ${n})`, '>= 0.9', ratios.healthyRateBOverA),
      target(`(b) / (a) healthy p99 (means of ${n})`, '<= 1.5', ratios.healthyP99BOverA),
    )
  }
  if (r.fan) {
    targets.push(
      target(`(c) ms until all ${r.fan.subscriptions} delivered`, 'reported', r.fan.allMs),
      target('(c) engine peak RSS MB during the fan-out', 'reported', mb(r.fan.peakRssBytes)),
    )
  }
  targets.push(...deTargets(r.ordered, r.flaky))
  tables.push({ title: 'outbound targets', rows: targets })
  return { tables, data: { ...r, ratios } }
}
