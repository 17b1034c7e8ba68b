import type { LoadResult } from '../stages/loadgen.js'
import { round } from '../stages/services.js'
import type { BenchTable } from '../types.js'
import type { EnvelopeRates } from './forwarders.js'
import type { PipelineRun } from './runs.js'
import type { CpuGroup } from './threads.js'

type Row = BenchTable['rows'][number]

const mb = (bytes: number | null) => (bytes === null ? null : Math.round(bytes / 1048576))
const failed = (l: LoadResult) => l.non2xx + l.errors + l.timeouts

export function ingestRow(run: string, l: LoadResult): Row {
  return {
    run,
    'req/s': Math.round(l.rps),
    'p50 ms': l.p50,
    'p99 ms': l.p99,
    'max ms': l.max,
    'non-2xx/errors': failed(l),
  }
}

/** Table 3 and the baseline comparison: stored while loading, then the drain. */
export function e2eRow(run: string, r: PipelineRun): Row {
  return {
    run,
    'accepted/s': Math.round(r.load.rps),
    accepted: r.load.ok,
    'stored/s during load': r.storedPerSecond,
    'rows at load end': r.rowsAtLoadEnd,
    'drain s': r.drainSeconds ?? 'not drained',
    'drain rows/s': r.drainPerSecond,
    'stored/s load+drain': r.storedOverallPerSecond,
    'not stored at end': r.notStoredAtEnd,
  }
}

export function latencyRow(rate: number, r: PipelineRun): Row {
  return {
    offered: `${rate}/s`,
    'accepted/s': Math.round(r.load.rps),
    rows: r.latency?.rows ?? null,
    'p50 ms': r.latency?.p50Ms ?? null,
    'p99 ms': r.latency?.p99Ms ?? null,
    'max ms': r.latency?.maxMs ?? null,
    'http p99 ms': r.load.p99,
    'not stored at end': r.notStoredAtEnd,
  }
}

/** One row per thread group, one for the whole process (with peak RSS), per run. */
export function cpuRows(run: string, r: PipelineRun): Row[] {
  const row = (g: CpuGroup, rss: number | null): Row => ({
    run,
    threads: g.group,
    count: g.threads,
    'CPU s': g.cpuSeconds,
    'µs/event': g.usPerEvent,
    'peak RSS MB': rss,
  })
  return [...r.cpu.groups.map((g) => row(g, null)), row(r.cpu.process, mb(r.peakRssBytes))]
}

export function forwarderRows(rates: EnvelopeRates[]): Row[] {
  return rates.map((r) => ({
    'events/message': r.envelopeEvents,
    'RabbitMQ events/s': r.rabbitPerSecond,
    'SQS (fauxqs) events/s': r.sqsPerSecond,
  }))
}

/** `target` starts with `>= N` or `<= N`; met says whether `reached` is on its right side. */
export function targetRow(metric: string, target: string, reached: number | null): Row {
  const [, op, limit] = /^(>=|<=) ([\d.]+)/.exec(target) ?? []
  const met =
    reached === null ? null : op === '>=' ? reached >= Number(limit) : reached <= Number(limit)
  return { metric, target, reached, met: met === null ? '-' : met ? 'yes' : 'no' }
}

export const ratio = (a: number, b: number) => (b > 0 ? round(a / b) : null)
