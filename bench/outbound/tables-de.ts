import { ratio } from '../burst/tables.js'
import type { BenchTable } from '../types.js'
import type { FlakyResult } from './flaky.js'
import type { OrderedRounds, OrderedRun } from './ordered.js'
import { cpuRows, driveRow, mean, target } from './rows.js'

// The tables of (d) ordered delivery and (e) the flaky receiver (issue 17).

type Row = BenchTable['rows'][number]

const us = (r: OrderedRun, group: string) =>
  r.cpu.groups.find((g) => g.group === group)?.usPerEvent ?? null

function orderedRow(run: string, r: OrderedRun): Row {
  const o = r.order
  return {
    ...driveRow(run, r),
    'µs/delivery engine / dispatch / pg db': `${r.cpu.process.usPerEvent} / ${us(r, 'sluice-dispatch')} / ${r.postgresDbCpu.usPerEvent}`,
    'order: checked / held / violations (overlap, early)': `${o.checked} / ${o.held} / ${o.violations} (${o.overlaps}, ${o.outOfOrder})`,
  }
}

export function orderedRatios(d: OrderedRounds) {
  const u = mean(d.unordered.map((r) => r.perSecond))
  const o = mean(d.ordered.map((r) => r.perSecond))
  return {
    unorderedPerSecond: u,
    orderedPerSecond: o,
    orderedOverUnordered: u !== null && o !== null ? ratio(o, u) : null,
    violations: d.ordered.reduce((s, r) => s + r.order.violations, 0),
  }
}

export function orderedTables(d: OrderedRounds, c: Record<string, number | string>): BenchTable[] {
  const u = d.unordered[0]!
  const o = d.ordered[0]!
  return [
    {
      title: `outbound 5 (d): ${c.HEALTHY} healthy subscriptions unordered vs ordered by /customer (${d.keys} keys, customer = c<floor(seq / ${d.keyRun}) % ${d.keys}>), closed loop of ${d.window} events x ${c.BODY_BYTES} B, ${c.SECONDS} s after ${c.WARM_SECONDS} s warm-up; held = arrivals that had to wait for an earlier event of their key; violations = arrivals while an earlier event of the key (its 200 before this one was posted) was unanswered there, or while another of the key was in flight there`,
      rows: d.unordered.flatMap((u, i) => [
        orderedRow(`(d) round ${i + 1}: unordered`, u),
        orderedRow(`(d) round ${i + 1}: ordered`, d.ordered[i]!),
      ]),
    },
    {
      title:
        "(d) engine CPU per thread group, the local Postgres and the bench database's backends alone, round 1",
      rows: [
        ...cpuRows('unordered', u.cpu, u.postgresCpu, u.postgresDbCpu),
        ...cpuRows('ordered', o.cpu, o.postgresCpu, o.postgresDbCpu),
      ],
    },
    activityTable(d),
  ]
}

/** Per statement, the mean backends busy with it in each run (pg_stat_activity samples). */
function activityTable(d: OrderedRounds): BenchTable {
  const runs = d.unordered.flatMap((u, i) => [
    [`unordered ${i + 1}`, u] as const,
    [`ordered ${i + 1}`, d.ordered[i]!] as const,
  ])
  const labels = [...new Set(runs.flatMap(([, r]) => Object.keys(r.activity.busy)))]
  const waits = [...new Set(runs.flatMap(([, r]) => Object.keys(r.activity.waiting)))]
  const total = (r: OrderedRun) => Object.values(r.activity.busy).reduce((s, x) => s + x, 0)
  return {
    title: `(d) the bench database's backends: mean number busy with each statement over each run (pg_stat_activity every 20 ms; samples: ${runs.map(([, r]) => r.activity.samples).join(' / ')})`,
    rows: [
      ...labels.map((l) => ({
        statement: l,
        ...Object.fromEntries(runs.map(([n, r]) => [n, r.activity.busy[l] ?? 0])),
      })),
      {
        statement: 'all',
        ...Object.fromEntries(runs.map(([n, r]) => [n, Number(total(r).toFixed(2))])),
      },
      ...waits.map((w) => ({
        statement: `of all: waiting for ${w}`,
        ...Object.fromEntries(runs.map(([n, r]) => [n, r.activity.waiting[w] ?? 0])),
      })),
    ],
  }
}

const hist = (h: Record<string, number>) =>
  Object.entries(h)
    .map(([k, n]) => `${k}: ${n}`)
    .join(', ') || '-'

export function flakyTable(e: FlakyResult, c: Record<string, number | string>): BenchTable {
  const d = e.deliveredMs
  return {
    title: `outbound 6 (e): ${e.events} events posted at once to one subscription (maxInFlight ${c.MAX_IN_FLIGHT}) whose receiver answers 503, 503, 200 to each webhook-id; times from the last POST's 200 until the receiver answered 200; schedule ${c.SCHEDULE} s ±20 %, so no event can succeed before (s1 + s2) x 0.8 = ${e.minimumMs} ms`,
    rows: [
      {
        'posted in ms': e.postMs,
        'delivered / events': `${e.delivered} / ${e.events}`,
        'first / p50 / all ms': `${e.firstMs} / ${d.p50Ms} / ${e.ratio === null ? 'not all' : d.maxMs}`,
        'all / minimum': e.ratio,
        'requests (per s)': `${e.requests} (${e.requestsPerSecond})`,
        'events by requests received': hist(e.requestsPerEvent),
        'deliveries by attempts': hist(e.attemptsPerDelivery),
        statuses: hist(e.statuses),
        probes: e.probes,
        'paused ever': e.pausedEver ? 'yes' : 'no',
        'flow samples by state (least limit)': `${hist(e.flowStates)} (${e.minInFlightLimit})`,
      },
    ],
  }
}

export function deTargets(d: OrderedRounds | null, e: FlakyResult | null): Row[] {
  const rows: Row[] = []
  if (d) {
    const r = orderedRatios(d)
    const n = d.ordered.length
    rows.push(
      target(
        `(d) ordered / unordered deliveries/s (means of ${n})`,
        '>= 0.5',
        r.orderedOverUnordered,
      ),
      target('(d) order violations in the ordered runs', '<= 0', r.violations),
    )
  }
  if (e) {
    rows.push(
      target(`(e) events delivered of ${e.events}`, `>= ${e.events}`, e.delivered),
      target('(e) time until all delivered / the schedule minimum', 'reported', e.ratio),
    )
  }
  return rows
}
