/** p50, p99 and max of a set of latencies in ms (nulls for an empty set). */
export interface LatencySummary {
  count: number
  p50Ms: number | null
  p99Ms: number | null
  maxMs: number | null
}

/**
 * Nearest-rank percentile of ascending `sorted` values: the smallest value with at least
 * q of all values at or below it (q in (0, 1]); null when there are none.
 */
export function percentile(sorted: ArrayLike<number>, q: number): number | null {
  if (sorted.length === 0) return null
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(q * sorted.length)))
  return sorted[rank - 1]!
}

export function summarize(values: readonly number[]): LatencySummary {
  // A typed array sorts numerically (an Array's sort() compares strings).
  const sorted = Float64Array.from(values).sort()
  const at = (q: number) => {
    const v = percentile(sorted, q)
    return v === null ? null : Number(v.toFixed(1))
  }
  return { count: sorted.length, p50Ms: at(0.5), p99Ms: at(0.99), maxMs: at(1) }
}
