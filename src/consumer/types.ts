import type { EventResult, StorableEvent } from '../event.js'

/**
 * Processes a batch and commits its effects. Resolves with one result per event, in input order
 * (`processedAt` is when its commit finished). Rejects when it could not run at all (database
 * unreachable, worker died): then nothing in the batch may be acked.
 */
export interface BatchProcessor {
  run(events: StorableEvent[]): Promise<EventResult[]>
}
