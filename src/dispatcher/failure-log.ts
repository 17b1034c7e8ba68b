import type { DeliveryResult } from '../db/delivery-results.js'
import type { Logger } from '../log.js'
import { LogSampler, type LogSamplerOptions } from '../util/log-sampler.js'

/**
 * A warning per failed delivery attempt, so an operator whose receiver fails sees it in the
 * log, not only on the page: which subscription and host, which delivery and attempt, the status
 * code or error class with its message, and when the next attempt is due or that the delivery
 * failed finally. Sampled per subscription (src/util/log-sampler.ts): a receiver failing
 * thousands of attempts a second writes its first `perInterval` in full and one line saying how
 * many more there were. Only the host is logged, never the URL: paths and queries of webhook
 * URLs often carry tokens.
 */
export class FailureLog {
  private readonly sampler: LogSampler<string>

  /** `logger` is read at each line: the dispatcher's options may not be set yet when made. */
  constructor(
    private readonly logger: () => Logger | undefined,
    options: LogSamplerOptions = {},
  ) {
    this.sampler = new LogSampler<string>(options, (s) => {
      this.logger()?.warn(
        {
          subscription: s.key,
          host: s.context,
          suppressed: s.suppressed,
          failedAttempts: s.seen,
          intervalMs: s.intervalMs,
        },
        `${s.suppressed} more failed delivery attempts to ${s.context} (subscription ${s.key}) in ${s.intervalMs} ms, not logged one by one`,
      )
    })
  }

  /** One attempt's result as decided; a success is not logged. `attempt` counts from 1. */
  attempted(r: DeliveryResult, url: string, attempt: number): void {
    const logger = this.logger()
    if (!logger || r.status === 'succeeded') return
    const host = hostOf(url)
    if (!this.sampler.admit(r.subscriptionId, host)) return
    const what = r.statusCode !== null ? `HTTP ${r.statusCode}` : (r.error ?? 'error')
    const next = r.probe
      ? 'a probe of the paused subscription: no attempt spent, it stays paused'
      : r.nextAttemptAt
        ? `next attempt at ${r.nextAttemptAt.toISOString()}`
        : r.effect === 'gone'
          ? 'failed finally; the subscription is disabled'
          : 'failed finally'
    logger.warn(
      {
        subscription: r.subscriptionId,
        host,
        delivery: r.id,
        attempt,
        statusCode: r.statusCode,
        error: r.error,
        detail: r.message,
        nextAttemptAt: r.nextAttemptAt?.toISOString() ?? null,
        final: r.status === 'failed',
        probe: r.probe ?? false,
      },
      `delivery attempt ${attempt} of ${r.id} to ${host} failed: ${what}${r.message ? ` (${r.message})` : ''}; ${next}`,
    )
  }

  /** Writes the summaries of what was suppressed now (tests, close). */
  flush(): void {
    this.sampler.endInterval()
  }
}

function hostOf(url: string): string {
  try {
    return new URL(url).host
  } catch {
    return '(invalid url)'
  }
}
