import type { Logger } from '../log.js'
import { LogSampler, type LogSamplerOptions } from '../util/log-sampler.js'

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

/** Sampling per error code (src/util/log-sampler.ts): 10 in full per second by default. */
export type RefusalLogOptions = LogSamplerOptions

/**
 * Logs refused requests (4xx and 5xx answers of the webhook port) so an operator can see who is
 * refused and why, without a flood of bad requests flooding the log too: per error code, the
 * first `perInterval` of an interval are logged in full, the rest only counted, and one summary
 * line per code says how many were suppressed when the interval ends.
 */
export class RefusalLog {
  private readonly sampler: LogSampler

  constructor(
    private readonly logger: Logger,
    options: RefusalLogOptions = {},
  ) {
    this.sampler = new LogSampler(options, ({ key: code, suppressed, seen, intervalMs }) => {
      this.logger.warn(
        { code, suppressed, refused: seen, intervalMs },
        `${suppressed} more requests refused with ${code} (not logged one by one)`,
      )
    })
  }

  refused(r: Refusal): void {
    if (!this.sampler.admit(r.code, undefined)) return
    // The source name comes from the URL: bounded here so a client cannot write a huge line.
    const source = r.source?.slice(0, 100)
    const fields = { code: r.code, status: r.status, route: r.route, source, client: r.client }
    // A 503 says the engine cannot take events (journal full, stopping): worth a warning.
    if (r.status >= 500) this.logger.warn(fields, `request refused: ${r.message}`)
    else this.logger.info(fields, `request refused: ${r.message}`)
  }

  /** Ends the interval now: the summaries of what was suppressed are written (on close too). */
  endInterval(): void {
    this.sampler.endInterval()
  }
}
