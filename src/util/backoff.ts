/**
 * Jittered exponential back-off ("full jitter"): a random delay in [base, min(cap, base·2^n)].
 * Never zero, so a dead dependency can't turn a retry loop into a tight loop.
 */
export function backoffDelay(
  attempt: number,
  baseMs: number,
  capMs: number,
  random = Math.random,
): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.max(0, attempt))
  return Math.round(baseMs + random() * Math.max(0, ceiling - baseMs))
}

/** A sleep that close() can cut short: resolves early when the signal aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve()
    const timer = setTimeout(done, ms)
    function done() {
      clearTimeout(timer)
      signal?.removeEventListener('abort', done)
      resolve()
    }
    signal?.addEventListener('abort', done, { once: true })
  })
}
