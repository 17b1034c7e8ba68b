import type { Logger } from '../log.js'

/** One refused request, as the log shows it. */
export interface Refusal {
  code: string
  status: number
  route: string
  /** The source named in the path (only for the webhook routes). */
  source: string | undefined
  /** The client address (X-Forwarded-For from a trusted proxy, else the TCP peer). */
  client: string
  message: string
}

export interface RefusalLogOptions {
  /** Refusals of one code logged in full per interval; the rest are counted. @defaultValue 10 */
  perInterval?: number
  /** Length of a sampling interval. @defaultValue 1000 */
  intervalMs?: number
}

/**
 * Logs refused requests (4xx and 5xx answers of the webhook port) so an operator can see who is
 * refused and why, without a flood of bad requests flooding the log too: per error code, the
 * first `perInterval` of an interval are logged in full, the rest only counted, and one summary
 * line per code says how many were suppressed when the interval ends. A suppressed refusal
 * costs a map lookup and an increment; nothing is formatted for it.
 */
export class RefusalLog {
  private readonly perInterval: number
  private readonly intervalMs: number
  /** Per code in the current interval: refusals seen (logged ones included). */
  private readonly seen = new Map<string, number>()
  private timer: NodeJS.Timeout | null = null

  constructor(
    private readonly logger: Logger,
    options: RefusalLogOptions = {},
  ) {
    this.perInterval = options.perInterval ?? 10
    this.intervalMs = options.intervalMs ?? 1000
    if (!Number.isInteger(this.perInterval) || this.perInterval < 0)
      throw new TypeError('options.perInterval must be a non-negative integer')
    if (!(this.intervalMs > 0)) throw new TypeError('options.intervalMs must be positive')
  }

  refused(r: Refusal): void {
    const n = (this.seen.get(r.code) ?? 0) + 1
    this.seen.set(r.code, n)
    // The interval starts at the first refusal after a quiet one, so an idle engine has no timer.
    if (!this.timer) {
      this.timer = setTimeout(() => this.endInterval(), this.intervalMs)
      this.timer.unref()
    }
    if (n > this.perInterval) return
    // The source name comes from the URL: bounded here so a client cannot write a huge line.
    const source = r.source?.slice(0, 100)
    const fields = { code: r.code, status: r.status, route: r.route, source, client: r.client }
    // A 503 says the engine cannot take events (journal full, stopping): worth a warning.
    if (r.status >= 500) this.logger.warn(fields, `request refused: ${r.message}`)
    else this.logger.info(fields, `request refused: ${r.message}`)
  }

  /** Ends the interval now: the summaries of what was suppressed are written (on close too). */
  endInterval(): void {
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
    for (const [code, n] of this.seen) {
      const suppressed = n - this.perInterval
      if (suppressed > 0) {
        this.logger.warn(
          { code, suppressed, refused: n, intervalMs: this.intervalMs },
          `${suppressed} more requests refused with ${code} (not logged one by one)`,
        )
      }
    }
    this.seen.clear()
  }
}
