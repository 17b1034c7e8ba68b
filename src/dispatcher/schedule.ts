import type { AttemptErrorClass, AttemptResult } from '../outbound/attempt.js'
import { SCHEDULE_JITTER, scheduleRetry, type Random } from '../util/retry-policy.js'
import type { Signal } from './flow.js'

/** The contract's default SLUICE_DELIVERY_SCHEDULE: seconds between attempts. */
export const DEFAULT_SCHEDULE = Object.freeze([5, 300, 1800, 7200, 18000, 36000, 36000])
/** ±20 % (src/util/retry-policy.ts): many deliveries failed by one outage do not come back in lock-step. */
export const JITTER = SCHEDULE_JITTER.below

/** What an attempt's result does to its delivery and to its subscription. */
export interface Decision {
  readonly status: 'pending' | 'succeeded' | 'failed'
  /** When the next attempt is due; only for `pending`. */
  readonly nextAttemptAt: Date | null
  /** success resumes and clears failing_since; failure counts toward pause; gone disables. */
  readonly effect: 'success' | 'failure' | 'gone' | 'none'
  /** A probe of a paused subscription: a failed one spends no attempt. */
  readonly probe?: boolean
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
  random: Random = Math.random,
): number | null {
  const delay = scheduleRetry(schedule).delayMs(attempt, random)
  return delay === null ? null : Math.round(Math.max(delay, retryAfterMs ?? 0))
}

/**
 * The contract's rules: a 2xx succeeds, a 410 fails the delivery and disables its subscription,
 * anything else (3xx included) is retried on the schedule and fails after its last step.
 * `attemptsBefore` is the delivery's attempts recorded before this one. A failed probe of a
 * paused subscription spends nothing: the delivery stays due, its schedule untouched.
 */
export function decide(
  attemptsBefore: number,
  result: AttemptResult,
  schedule: readonly number[],
  nowMs: number,
  random: () => number = Math.random,
  probe = false,
): Decision {
  if (result.outcome === 'success') {
    return { status: 'succeeded', nextAttemptAt: null, effect: 'success', probe }
  }
  if (result.outcome === 'gone') {
    return { status: 'failed', nextAttemptAt: null, effect: 'gone', probe }
  }
  if (probe) return { status: 'pending', nextAttemptAt: new Date(nowMs), effect: 'failure', probe }
  const retryAfter = result.outcome === 'retry' ? result.retryAfterMs : undefined
  const delay = retryDelayMs(attemptsBefore + 1, schedule, retryAfter, random)
  if (delay === null) return { status: 'failed', nextAttemptAt: null, effect: 'failure' }
  return { status: 'pending', nextAttemptAt: new Date(nowMs + delay), effect: 'failure' }
}

/** Answers that mean "not now" for a receiver's load; other failures say nothing of it. */
const CONGESTION: ReadonlySet<AttemptErrorClass> = new Set([
  'timeout',
  'connection_refused',
  'connection_reset',
  'unreachable',
  'network',
  'dns',
  'status_5xx',
])

/** How an attempt's result bears on flow control (src/dispatcher/flow.ts). */
export function signalOf(result: AttemptResult): Signal {
  if (result.outcome === 'success') return { kind: 'success' }
  if (result.outcome === 'retry') return { kind: 'congestion', retryAfterMs: result.retryAfterMs }
  if (result.outcome === 'failure' && CONGESTION.has(result.error)) return { kind: 'congestion' }
  return { kind: 'neutral' }
}
