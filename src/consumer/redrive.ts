import type pg from 'pg'
import type { EventKey } from '../event.js'
import {
  deleteDeadLetters,
  listDeadLetters,
  recordRedriveFailures,
  type DeadLetter,
} from '../db/dead-letters.js'
import { ping } from '../db/ping.js'
import { batchFault, runIsolating } from './isolate.js'
import type { BatchProcessor } from './types.js'

export interface RedriveResult {
  /** Dead letters processed into a row (or found stored already) and removed from the table. */
  redriven: number
  /** Dead letters that failed again; they stay, with one more attempt and the new error. */
  failed: number
}

/** Dead letters taken per round: one processor batch. */
const ROUND = 100

/**
 * Process dead letters again (all, or those matching `keys`) through the same processing step as
 * the consumer, and remove each one that is stored. A crash between the store and the removal
 * only leaves a letter that the next redrive finds stored already: never a second row. A round
 * that fails as a whole while the database answers (a store thread died on one of its letters)
 * is bisected as the consumer does, so that letter alone fails again and the rest go on.
 */
export async function redriveDeadLetters(
  pool: pg.Pool,
  processor: BatchProcessor,
  keys?: readonly Partial<EventKey>[],
): Promise<RedriveResult> {
  const result: RedriveResult = { redriven: 0, failed: 0 }
  let after: DeadLetter | undefined
  for (;;) {
    const letters = await listDeadLetters(pool, {
      limit: ROUND,
      ...(keys ? { keys } : {}),
      ...(after ? { after: { ...after.event, lastFailedAt: after.lastFailedAt } } : {}),
    })
    if (letters.length === 0) return result
    after = letters.at(-1)
    const outcomes = await runIsolating(
      letters.map((l) => l.event),
      (events) => processor.run(events),
      // Not latency-bound: a slow answer must not make a thread's death look like an outage.
      batchFault(async () => (await ping(pool, 10_000)).ok),
    )
    const stored: EventKey[] = []
    const failures: (EventKey & { error: string })[] = []
    letters.forEach(({ event: { source, id } }, i) => {
      const o = outcomes[i]
      if (o?.ok) stored.push({ source, id })
      else failures.push({ source, id, error: o?.error ?? 'no result for this event' })
    })
    await deleteDeadLetters(pool, stored)
    await recordRedriveFailures(pool, failures)
    result.redriven += stored.length
    result.failed += failures.length
  }
}
