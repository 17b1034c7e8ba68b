import { randomUUID } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { SqliteJournal } from '../../journal/index.js'

export interface JournalCommitBenchOptions {
  /** @defaultValue 5 */
  seconds?: number
  /** Appends awaiting their commit at once (concurrent requests). @defaultValue 256 */
  concurrency?: number
  /** @defaultValue 5120 */
  bodyBytes?: number
}

export interface JournalCommitBenchResult {
  events: number
  seconds: number
  eventsPerSecond: number
  concurrency: number
}

/**
 * The journal stage alone: in-process appends of 5 KB events with synchronous=FULL (every
 * group commit fsync'd), `concurrency` appends in flight, as the HTTP server issues them.
 */
export async function benchJournalCommits(
  o: JournalCommitBenchOptions = {},
): Promise<JournalCommitBenchResult> {
  const seconds = o.seconds ?? 5
  const concurrency = o.concurrency ?? 256
  const body = Buffer.alloc(o.bodyBytes ?? 5120, 'x')
  const dir = mkdtempSync(join(tmpdir(), 'sluice-bench-journal-'))
  const journal = new SqliteJournal({ dataDir: dir, sync: 'full' })
  try {
    await journal.start()
    const append = () =>
      journal.append({
        id: randomUUID(),
        source: 'bench',
        contentType: 'application/json',
        headers: { 'content-type': 'application/json' },
        body,
        verifiedBy: null,
      })
    await Promise.all(Array.from({ length: concurrency }, append))
    let events = 0
    const started = performance.now()
    const deadline = started + seconds * 1000
    const lane = async () => {
      while (performance.now() < deadline) {
        await append()
        events++
      }
    }
    await Promise.all(Array.from({ length: concurrency }, lane))
    const elapsed = (performance.now() - started) / 1000
    return { events, seconds: elapsed, eventsPerSecond: Math.round(events / elapsed), concurrency }
  } finally {
    await journal.close()
    rmSync(dir, { recursive: true, force: true })
  }
}
