import type { Logger } from '../log.js'
import { PermanentError } from '../permanent-error.js'
import { backoffDelay, sleep } from '../util/backoff.js'

/** What one dependency (broker, database) looks like from /readyz. */
export interface Health {
  /** False while a permanent error lasts. */
  ok: boolean
  /** The permanent error, with what to do and since when (ISO 8601). */
  problem: { code: string; error: string; hint: string; since: string } | null
}

/**
 * Tracks a dependency's permanent problem. A transient error (the service is away) is not a
 * problem here: the backlog only grows, and the dependency is retried with back-off.
 */
export class HealthTracker {
  private current: Health['problem'] = null

  constructor(
    private readonly what: string,
    private readonly logger: Logger,
  ) {}

  /** Record a permanent error; logged at `error` once per new problem, with what to do. */
  failed(err: PermanentError): void {
    if (this.current?.code !== err.code || this.current.error !== err.message) {
      this.logger.error(
        { code: err.code, err, hint: err.hint, retrying: err.retryable },
        `${this.what}: ${err.message}; ${err.hint}`,
      )
      this.current = {
        code: err.code,
        error: err.message,
        hint: err.hint,
        since: new Date().toISOString(),
      }
    }
  }

  recovered(): void {
    if (this.current) this.logger.info({ code: this.current.code }, `${this.what}: recovered`)
    this.current = null
  }

  health(): Health {
    return { ok: this.current === null, problem: this.current }
  }
}

export interface RetryOptions {
  signal: AbortSignal
  logger: Logger
  health: HealthTracker
  /** Turns an error into a PermanentError when retrying cannot fix it. */
  classify: (err: unknown) => PermanentError | null
  /** Delay between attempts while a permanent error lasts. */
  permanentRetryMs: number
}

const closing = (what: string, cause?: unknown) =>
  new Error(`${what}: not started, pipeline closing`, cause === undefined ? {} : { cause })

/**
 * Run `fn` until it succeeds. Transient errors back off with jitter (0.5 s up to 15 s) at
 * `warn`; permanent ones are reported to the tracker and retried every permanentRetryMs, or
 * not at all when not retryable (then this rejects with the error). Gives up when closing.
 */
export async function retryUntilUp<T>(
  what: string,
  fn: () => Promise<T>,
  o: RetryOptions,
): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    if (o.signal.aborted) throw closing(what)
    try {
      const value = await fn()
      o.health.recovered()
      return value
    } catch (err) {
      // Closing: not a failure to report or retry (the embedded start is abandoned this way).
      if (o.signal.aborted) throw closing(what, err)
      const permanent = err instanceof PermanentError ? err : o.classify(err)
      if (permanent) {
        o.health.failed(permanent)
        if (!permanent.retryable) throw permanent
        await sleep(o.permanentRetryMs, o.signal)
        continue
      }
      const delay = backoffDelay(attempt, 500, 15000)
      o.logger.warn({ err, retryInMs: delay }, `${what} not available yet; retrying`)
      await sleep(delay, o.signal)
    }
  }
}
