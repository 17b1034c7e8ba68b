import type { AttemptResult } from '../outbound/attempt.js'

/** The contract's default SLUICE_DELIVERY_SCHEDULE: seconds between attempts. */
export const DEFAULT_SCHEDULE = Object.freeze([5, 300, 1800, 7200, 18000, 36000, 36000])
/** ±20 %: many deliveries failed by one outage do not come back in lock-step. */
export const JITTER = 0.2

/** What an attempt's result does to its delivery and to its subscription. */
export interface Decision {
  readonly status: 'pending' | 'succeeded' | 'failed'
  /** When the next attempt is due; only for `pending`. */
  readonly nextAttemptAt: Date | null
  /** success closes the breaker and clears failing_since; failure counts; gone disables. */
  readonly effect: 'success' | 'failure' | 'gone' | 'none'
}

/**
 * The delay before attempt `attempt + 1` after `attempt` attempts (1-based) failed, or null when
 * the schedule has no step left. A Retry-After the receiver sent (already bounded to 1 s – 1 h
 * by parseRetryAfter) is honoured as a minimum: it may push the retry later, never earlier.
 */
export function retryDelayMs(
  attempt: number,
  schedule: readonly number[],
  retryAfterMs?: number,
  random: () => number = Math.random,
): number | null {
  const step = schedule[attempt - 1]
  if (step === undefined) return null
  const jittered = step * 1000 * (1 - JITTER + 2 * JITTER * random())
  return Math.round(Math.max(jittered, retryAfterMs ?? 0))
}

/**
 * The contract's rules: a 2xx succeeds, a 410 fails the delivery and disables its subscription,
 * anything else (3xx included) is retried on the schedule and fails after its last step.
 * `attemptsBefore` is the delivery's attempts recorded before this one.
 */
export function decide(
  attemptsBefore: number,
  result: AttemptResult,
  schedule: readonly number[],
  nowMs: number,
  random: () => number = Math.random,
): Decision {
  if (result.outcome === 'success') {
    return { status: 'succeeded', nextAttemptAt: null, effect: 'success' }
  }
  if (result.outcome === 'gone') return { status: 'failed', nextAttemptAt: null, effect: 'gone' }
  const retryAfter = result.outcome === 'retry' ? result.retryAfterMs : undefined
  const delay = retryDelayMs(attemptsBefore + 1, schedule, retryAfter, random)
  if (delay === null) return { status: 'failed', nextAttemptAt: null, effect: 'failure' }
  return { status: 'pending', nextAttemptAt: new Date(nowMs + delay), effect: 'failure' }
}
