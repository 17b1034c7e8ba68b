import { performance } from 'node:perf_hooks'

/** Durations of one kind of main-thread journal call: how often, how long in all, the tail. */
interface OpStats {
  count: number
  totalMs: number
  maxMs: number
  over5ms: number
  over10ms: number
}

type Instrumentable = Record<string, unknown>

/**
 * BENCH_ENGINE_LOOP_REPORT=1: times the synchronous part of the journal's main-thread calls
 * (the writer runs inline, so a mark, a compaction or a read from the file blocks the HTTP
 * thread for exactly that part) and returns a function giving the totals per call. Wraps the
 * instance's own methods, so the journal's internal calls (its compaction timer) are timed too.
 */
export function timeJournalOps(journal: object, names: readonly string[]): () => object {
  const stats: Record<string, OpStats> = {}
  const target = journal as Instrumentable
  for (const name of names) {
    const original = target[name]
    if (typeof original !== 'function') continue
    const s: OpStats = { count: 0, totalMs: 0, maxMs: 0, over5ms: 0, over10ms: 0 }
    stats[name] = s
    target[name] = function (this: unknown, ...args: unknown[]) {
      const t0 = performance.now()
      try {
        return (original as (...a: unknown[]) => unknown).apply(this, args)
      } finally {
        const ms = performance.now() - t0
        s.count++
        s.totalMs += ms
        if (ms > s.maxMs) s.maxMs = ms
        if (ms > 5) s.over5ms++
        if (ms > 10) s.over10ms++
      }
    }
  }
  return () => {
    const out: Record<string, OpStats> = {}
    for (const [k, s] of Object.entries(stats))
      out[k] = { ...s, totalMs: Math.round(s.totalMs), maxMs: Math.round(s.maxMs * 10) / 10 }
    return out
  }
}
