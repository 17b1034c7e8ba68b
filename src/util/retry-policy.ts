/**
 * The engine's one retry vocabulary: a policy answers "how long before the next try, or give
 * up?", and jitter is made in one place, here. Two kinds cover every retry Sluice makes:
 *
 * - `exponentialRetry`: the inbound side and every reconnect, restart and outage loop
 *   (util/backoff.ts's backoffDelay, the consumer's processing retries, thread restarts);
 * - `scheduleRetry`: outbound deliveries, on SLUICE_DELIVERY_SCHEDULE's steps
 *   (src/dispatcher/schedule.ts; docs/outbound.md and CONTRACT.md give the default).
 */

/** A number in [0, 1), as Math.random gives; tests pass a fixed one to pin the jitter. */
export type Random = () => number

export interface RetryPolicy {
  /**
   * The wait (ms) before the next try after `failures` tries failed in a row (1 after the
   * first failure), or null: give up.
   */
  delayMs(failures: number, random?: Random): number | null
}

/**
 * A delay is spread uniformly over [ms·(1 − below), ms·(1 + above)], so many clients failed by
 * one outage do not come back in lock-step.
 */
export interface Jitter {
  readonly below: number
  readonly above: number
}

/** "Equal jitter": [ceiling/2, ceiling]; half fixed keeps the schedule's shape. */
export const EQUAL_JITTER: Jitter = Object.freeze({ below: 0.5, above: 0 })
/** ±20 % around each step of the outbound schedule. */
export const SCHEDULE_JITTER: Jitter = Object.freeze({ below: 0.2, above: 0.2 })

/** `ms` jittered, rounded to whole milliseconds. */
export function jittered(ms: number, jitter: Jitter, random: Random = Math.random): number {
  return Math.round(ms * (1 - jitter.below + (jitter.below + jitter.above) * random()))
}

export interface ExponentialOptions {
  /** The ceiling of the first wait. */
  readonly baseMs: number
  /** The longest wait. */
  readonly capMs: number
  /** Growth of the ceiling per failure. @defaultValue 2 */
  readonly factor?: number
  /** Failures after which to give up. @defaultValue Infinity */
  readonly maxFailures?: number
}

/**
 * Capped exponential growth with equal jitter: the ceiling is min(capMs,
 * baseMs·factor^(failures − 1)), the wait in [ceiling/2, ceiling]. Never under baseMs/2, so a
 * dead dependency cannot turn a loop into a tight loop.
 */
export function exponentialRetry(o: ExponentialOptions): RetryPolicy {
  const factor = o.factor ?? 2
  const maxFailures = o.maxFailures ?? Infinity
  return {
    delayMs(failures, random = Math.random) {
      if (failures >= maxFailures) return null
      // Clamped: huge failure counts stay finite (2^60 is far past any cap).
      const exponent = Math.min(Math.max(0, failures - 1), 60)
      return jittered(Math.min(o.capMs, o.baseMs * factor ** exponent), EQUAL_JITTER, random)
    },
  }
}

/**
 * Fixed steps, in seconds, each jittered ±20 %; past the last step, give up. The outbound
 * delivery schedule (SLUICE_DELIVERY_SCHEDULE).
 */
export function scheduleRetry(stepsSeconds: readonly number[]): RetryPolicy {
  return {
    delayMs(failures, random = Math.random) {
      const step = stepsSeconds[failures - 1]
      return step === undefined ? null : jittered(step * 1000, SCHEDULE_JITTER, random)
    },
  }
}
