/**
 * The one back-off of the engine (reconnects, outages, processing retries): capped exponential
 * growth with "equal jitter", a random delay in [ceiling/2, ceiling] where ceiling is
 * min(capMs, baseMs·factor^attempt). Half fixed, so a schedule keeps its shape; half random, so
 * many clients cut off by the same outage do not come back in lock-step; never under baseMs/2,
 * so a dead dependency cannot turn a loop into a tight loop.
 */
export function backoffDelay(
  attempt: number,
  baseMs: number,
  capMs: number,
  random: () => number = Math.random,
  factor = 2,
): number {
  const ceiling = Math.min(capMs, baseMs * factor ** Math.min(Math.max(0, attempt), 60))
  return Math.round(ceiling / 2 + random() * (ceiling / 2))
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
