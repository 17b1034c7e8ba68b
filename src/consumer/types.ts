import type { WebhookEvent } from '../event.js'

export type EventResult =
  { ok: true; inserted: boolean } | { ok: false; error: string; permanent: boolean }

export interface BatchOutcome {
  /** One result per event, in input order. */
  results: EventResult[]
  /** When the transaction holding the stored events committed, in ms since the epoch. */
  processedAt: number
}

/**
 * Processes a batch and commits its effects. Rejects when it could not run at all (database
 * unreachable, worker died): then nothing in the batch may be acked.
 */
export interface BatchProcessor {
  process(events: WebhookEvent[]): Promise<BatchOutcome>
}
