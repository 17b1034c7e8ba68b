import { isMainThread } from 'node:worker_threads'
import {
  AggregatorRegistry,
  Counter,
  Gauge,
  Histogram,
  Registry,
  collectDefaultMetrics,
  type MetricObjectWithValues,
  type MetricValue,
} from 'prom-client'

/**
 * This thread's Prometheus registry. GET /metrics serves the main thread's registry summed with
 * those of the engine's other threads (metricsText); process metrics come from the main thread
 * only, since they describe the whole process. They keep prom-client's standard names
 * (process_cpu_seconds_total, nodejs_eventloop_lag_seconds, ...) so stock Node.js dashboards
 * find them.
 */
export const registry = new Registry()
if (isMainThread) collectDefaultMetrics({ register: registry })

export type ThreadMetrics = MetricObjectWithValues<MetricValue<string>>[]

let otherThreads: (() => Promise<ThreadMetrics[]>) | null = null

/** Where metricsText finds the registries of the engine's other threads (the pipeline actor). */
export function reportThreadMetricsFrom(source: (() => Promise<ThreadMetrics[]>) | null): void {
  otherThreads = source
}

/**
 * The other threads' registries. Each source serves a thread that is too busy to answer in
 * time from its last answer (LastAnswer), so its counters do not vanish from one scrape.
 */
async function otherThreadMetrics(): Promise<ThreadMetrics[]> {
  return otherThreads ? otherThreads().catch(() => []) : []
}

/**
 * This thread's registry followed by those it reports from: what a thread that starts threads
 * of its own (the pipeline actor starts the dispatcher) answers when asked for its metrics.
 */
export async function threadMetrics(): Promise<ThreadMetrics[]> {
  const own = (await registry.getMetricsAsJSON()) as ThreadMetrics
  return [own, ...(await otherThreadMetrics())]
}

/** The exposition text of every thread's metrics, summed by name and labels. */
export async function metricsText(): Promise<string> {
  const own = (await registry.getMetricsAsJSON()) as ThreadMetrics
  const others = await otherThreadMetrics()
  if (others.length === 0) return registry.metrics()
  // The aggregator drops metrics marked 'omit' (process_start_time_seconds), meant for a
  // cluster of processes; here only this thread has them, so its value is the process's.
  const mine = own.map((m) =>
    m.aggregator === 'omit' ? { ...m, aggregator: 'first' as const } : m,
  )
  return AggregatorRegistry.aggregate([mine, ...others]).metrics()
}

export const threadMetricsLate = new Counter({
  name: 'sluice_thread_metrics_late_total',
  help: "Asks for a thread's metrics that it did not answer in time, answered with its previous answer",
  registers: [registry],
})

export const httpResponses = new Counter({
  name: 'sluice_http_responses_total',
  help: 'HTTP responses by route, status, source (configured sources only) and error code',
  labelNames: ['route', 'status', 'source', 'code'] as const,
  registers: [registry],
})

export const ingestSeconds = new Histogram({
  name: 'sluice_ingest_duration_seconds',
  help: 'Webhook requests from their start to the answer (a 200 waits for its journal commit)',
  labelNames: ['source'] as const,
  buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
  registers: [registry],
})

export const journalCommits = new Histogram({
  name: 'sluice_journal_commit_events',
  help: 'Events per journal commit (group commit size)',
  buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024],
  registers: [registry],
})

export const journalCommitSeconds = new Histogram({
  name: 'sluice_journal_commit_seconds',
  help: 'Duration of one journal commit including fsync',
  buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.5],
  registers: [registry],
})

/**
 * Always 0 since the journal writer runs on the HTTP thread (the writer thread was removed, see
 * docs/journal-writer.md); still exported so dashboards and alerts that name it keep working.
 */
export const journalWriterRestarts = new Counter({
  name: 'sluice_journal_writer_restarts_total',
  help: 'Restart attempts of a dead journal writer thread (always 0: the writer runs inline)',
  registers: [registry],
})

export const journalIoFaults = new Counter({
  name: 'sluice_journal_io_faults_total',
  help: 'Journal writes or fsyncs that failed with an I/O error (EIO, ENOSPC); each holds ingest closed until the journal recovered',
  registers: [registry],
})

export const pipelineRestarts = new Counter({
  name: 'sluice_pipeline_thread_restarts_total',
  help: 'Restarts of the pipeline thread after it died',
  registers: [registry],
})

export const eventsForwarded = new Counter({
  name: 'sluice_events_forwarded_total',
  help: 'Journal entries confirmed by the broker',
  registers: [registry],
})

let backlogSource: (() => number) | null = null

/** Where the backlog gauge reads its value at scrape time (the engine's journal). */
export function reportBacklogFrom(source: (() => number) | null): void {
  backlogSource = source
}

export const forwarderBacklog = new Gauge({
  name: 'sluice_forwarder_backlog',
  help: 'Journal entries not yet confirmed by the broker',
  registers: [registry],
  collect() {
    try {
      if (backlogSource) this.set(backlogSource())
    } catch {
      // The journal is closing: keep the last value rather than fail the whole scrape.
    }
  },
})

export const eventsProcessed = new Counter({
  name: 'sluice_events_processed_total',
  help: 'Deliveries by outcome: stored, duplicate, retried, dead_lettered',
  labelNames: ['outcome'] as const,
  registers: [registry],
})

export const endToEndSeconds = new Histogram({
  name: 'sluice_event_latency_seconds',
  help: 'processed_at - received_at: journal commit to Postgres commit',
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 30, 60],
  registers: [registry],
})
