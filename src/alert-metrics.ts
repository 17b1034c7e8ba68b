import { isMainThread } from 'node:worker_threads'
import { Gauge } from 'prom-client'
import type { JournalStats } from '../journal/types.js'
import { registry } from './metrics.js'
import { packageVersion } from './version.js'

/**
 * Gauges an alert can use (deploy/prometheus/alerts.yml): the journal's backlog age and size,
 * whether the broker and the database work, the dead letters. Each is set by one thread only
 * (the journal's on the HTTP thread, the others in the pipeline thread) and reads 0 in every
 * other thread, so the sum metricsText serves is the value of the thread that knows it.
 */

let journalSource: (() => JournalStats | Promise<JournalStats>) | null = null
let lastRead: { at: number; stats: Promise<JournalStats> } | null = null

/** Where the journal gauges read at scrape time (the engine's journal); null stops them. */
export function reportJournalFrom(source: (() => JournalStats | Promise<JournalStats>) | null) {
  journalSource = source
  lastRead = null
}

/** One stats() per scrape for all the journal gauges (each is collected on its own). */
function journalStats(): Promise<JournalStats> | null {
  if (!journalSource) return null
  const now = performance.now()
  if (!lastRead || now - lastRead.at > 250) {
    const source = journalSource
    lastRead = { at: now, stats: Promise.resolve().then(() => source()) }
  }
  return lastRead.stats
}

function journalGauge(name: string, help: string, value: (s: JournalStats) => number | undefined) {
  return new Gauge({
    name,
    help,
    registers: [registry],
    async collect() {
      try {
        const stats = await journalStats()
        const v = stats ? value(stats) : undefined
        if (v !== undefined) this.set(v)
      } catch {
        // The journal is closing: keep the last value rather than fail the whole scrape.
      }
    },
  })
}

export const journalOldestPendingAge = journalGauge(
  'sluice_journal_oldest_pending_age_seconds',
  'Age of the oldest journal entry the broker has not confirmed; 0 when none is pending',
  (s) => (s.oldestPendingAt === null ? 0 : Math.max(0, Date.now() - s.oldestPendingAt) / 1000),
)
export const journalBytes = journalGauge(
  'sluice_journal_bytes',
  'Size of the journal files (main, WAL, shm)',
  (s) => s.bytes,
)
export const journalMaxBytes = journalGauge(
  'sluice_journal_max_bytes',
  'Journal size past which new events get 503 journal_full (SLUICE_JOURNAL_MAX_BYTES)',
  (s) => s.maxBytes,
)
export const diskFreeBytes = journalGauge(
  'sluice_journal_disk_free_bytes',
  "Free bytes on the journal's file system (under 64 MiB, new events get 503 journal_full)",
  (s) => s.freeDiskBytes,
)

/** Whether the pipeline's dependencies work right now, read at scrape time. */
export interface PipelineHealth {
  broker: boolean
  database: boolean
}
let healthSource: (() => PipelineHealth) | null = null

/** Where the up gauges read (the pipeline, in its thread); null = not running, both 0. */
export function reportPipelineHealthFrom(source: (() => PipelineHealth) | null): void {
  healthSource = source
}

export const brokerUp = new Gauge({
  name: 'sluice_broker_up',
  help: '1 while the broker is connected and publishing works, else 0',
  registers: [registry],
  collect() {
    this.set(healthSource?.().broker ? 1 : 0)
  },
})

export const databaseUp = new Gauge({
  name: 'sluice_database_up',
  help: '1 while PostgreSQL answers and events are being stored, else 0',
  registers: [registry],
  collect() {
    this.set(healthSource?.().database ? 1 : 0)
  },
})

export const deadLetters = new Gauge({
  name: 'sluice_dead_letters',
  help: 'Rows in the dead_letters table (counted every 15 s; shared by the nodes of one database)',
  registers: [registry],
})

export const buildInfo = new Gauge({
  name: 'sluice_build_info',
  help: 'Always 1; the labels say which Sluice and Node.js this process runs',
  labelNames: ['version', 'node'] as const,
  registers: [registry],
})
// Set by one thread only, so the sum across threads stays 1.
if (isMainThread) buildInfo.set({ version: packageVersion(), node: process.version }, 1)
