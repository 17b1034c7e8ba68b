export interface LogSamplerOptions {
  /** Occurrences of one key logged in full per interval; the rest are counted. @defaultValue 10 */
  perInterval?: number
  /** Length of a sampling interval. @defaultValue 1000 */
  intervalMs?: number
}

/** What was left out of the log for one key in one interval. */
export interface Suppressed<C> {
  key: string
  /** What the first occurrence of the interval said about the key (its summary's fields). */
  context: C
  /** Occurrences not logged one by one. */
  suppressed: number
  /** Occurrences in the interval, the logged ones included. */
  seen: number
  intervalMs: number
}

/**
 * Keeps a flood out of the log without hiding it: per key, the first `perInterval` occurrences
 * of an interval are admitted (the caller logs them in full), the rest only counted, and when the
 * interval ends `summarise` is called once per key that had some left out. A counted occurrence
 * costs a map lookup and an increment; nothing is formatted for it. The interval starts at the
 * first occurrence after a quiet one, so an idle engine has no timer.
 */
export class LogSampler<C = undefined> {
  private readonly perInterval: number
  private readonly intervalMs: number
  private readonly seen = new Map<string, { n: number; context: C }>()
  private timer: NodeJS.Timeout | null = null

  constructor(
    options: LogSamplerOptions,
    private readonly summarise: (s: Suppressed<C>) => void,
  ) {
    this.perInterval = options.perInterval ?? 10
    this.intervalMs = options.intervalMs ?? 1000
    if (!Number.isInteger(this.perInterval) || this.perInterval < 0)
      throw new TypeError('options.perInterval must be a non-negative integer')
    if (!(this.intervalMs > 0)) throw new TypeError('options.intervalMs must be positive')
  }

  /** Counts one occurrence of `key`; true when it is to be logged in full. */
  admit(key: string, context: C): boolean {
    const entry = this.seen.get(key)
    if (entry) entry.n++
    else this.seen.set(key, { n: 1, context })
    if (!this.timer) {
      this.timer = setTimeout(() => this.endInterval(), this.intervalMs)
      this.timer.unref()
    }
    return (entry?.n ?? 1) <= this.perInterval
  }

  /** Ends the interval now: the summaries of what was suppressed are written (on close too). */
  endInterval(): void {
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
    for (const [key, { n, context }] of this.seen) {
      const suppressed = n - this.perInterval
      if (suppressed > 0) {
        this.summarise({ key, context, suppressed, seen: n, intervalMs: this.intervalMs })
      }
    }
    this.seen.clear()
  }
}
