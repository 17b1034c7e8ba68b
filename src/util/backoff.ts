import { exponentialRetry, type Random } from './retry-policy.js'

/**
 * The exponential back-off of src/util/retry-policy.ts as a call (reconnects, outages,
 * restarts): `attempt` counts from 0 (the wait after the first failure), the ceiling is
 * min(capMs, baseMs·factor^attempt) and the wait in [ceiling/2, ceiling].
 */
export function backoffDelay(
  attempt: number,
  baseMs: number,
  capMs: number,
  random: Random = Math.random,
  factor = 2,
): number {
  // No maxFailures: a back-off never gives up, so the policy always answers a number.
  return exponentialRetry({ baseMs, capMs, factor }).delayMs(attempt + 1, random) as number
}

/** A timer promise that a close() can cut short; the timer never keeps the process alive. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve()
    const timer = setTimeout(done, ms)
    timer.unref()
    function done() {
      signal?.removeEventListener('abort', done)
      clearTimeout(timer)
      resolve()
    }
    signal?.addEventListener('abort', done, { once: true })
  })
}
