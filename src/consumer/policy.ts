import type { Delivery } from '../brokers/types.js'
import type { DeadLetterReason } from '../db/dead-letters.js'
import type { EventResult } from '../event.js'
import { exponentialRetry, type RetryPolicy } from '../util/retry-policy.js'

/**
 * The retry and dead-letter settings: with screen() and judge(), the one place that decides what
 * happens to a delivery. (The delays themselves come from src/util/retry-policy.ts.)
 */
export interface RetrySettings {
  /** Processing attempts before an event is dead-lettered (SLUICE_MAX_ATTEMPTS). */
  maxAttempts: number
  /** Delay before the second attempt; each later one waits about 4x longer. */
  retryBaseMs: number
  /** Longest delay between two attempts. */
  retryCapMs: number
}

export type Verdict =
  | { action: 'ack' }
  | { action: 'retry'; delayMs: number; error: string }
  | { action: 'dead-letter'; reason: DeadLetterReason; error: string }

/**
 * Before processing: a message that cannot be decoded, or one delivered more often than the
 * attempt limit without being settled (its consumers kept dying on it: a crash loop), is
 * dead-lettered without being processed. Null: process it.
 */
export function screen(delivery: Delivery, policy: RetrySettings): Verdict | null {
  if (delivery.malformed !== undefined) {
    return { action: 'dead-letter', reason: 'undecodable_message', error: delivery.malformed }
  }
  if (delivery.attempt > policy.maxAttempts) {
    const error = `delivered ${delivery.attempt - 1} times without being settled`
    return { action: 'dead-letter', reason: 'attempts_exhausted', error }
  }
  return null
}

/** After processing: ack what is stored, dead-letter what cannot be, retry the rest later. */
export function judge(
  delivery: Delivery,
  result: EventResult | undefined,
  policy: RetrySettings,
): Verdict {
  if (result?.ok) return { action: 'ack' }
  const error = result?.error ?? 'processor returned no result for this event'
  if (result?.permanent) return { action: 'dead-letter', reason: 'invalid_event', error }
  const delayMs = processingRetry(policy).delayMs(delivery.attempt)
  if (delayMs === null) return { action: 'dead-letter', reason: 'attempts_exhausted', error }
  return { action: 'retry', delayMs, error }
}

/**
 * The inbound processing retry: about base, 4·base, 16·base, ... capped, jittered; it gives up
 * (dead-letters) once maxAttempts attempts failed.
 */
export function processingRetry(policy: RetrySettings): RetryPolicy {
  return exponentialRetry({
    baseMs: policy.retryBaseMs,
    capMs: policy.retryCapMs,
    factor: 4,
    maxFailures: policy.maxAttempts,
  })
}
