import { RateLimiter } from './rate-limiter.js'
import { rateLimited } from './reject.js'
import type { SourceConfig } from './schema.js'
import type { IngestSource, Verified } from './types.js'
import { createVerifier } from './verifier.js'

export type { IngestSource, Rejection, RequestView, Verified } from './types.js'

export interface BuildSourcesOptions {
  /**
   * Wall clock in milliseconds since the epoch, for signed timestamps.
   * @defaultValue Date.now
   */
  now?: () => number
  /**
   * Monotonic clock in milliseconds, for rate limits.
   * @defaultValue performance.now
   */
  monotonicNow?: () => number
  /**
   * Most client buckets kept per source when a rate limit is per client.
   * @defaultValue 10000
   */
  maxClients?: number
}

const defaults = Object.freeze({
  now: () => Date.now(),
  monotonicNow: () => performance.now(),
  maxClients: 10000,
})

const UNSIGNED: Verified = Object.freeze({ ok: true, verifiedBy: null })

/**
 * Build the runtime sources from SLUICE_CONFIG (secrets already resolved by the schema). Throws
 * TypeError naming the source when a setting cannot be used, so start-up stops. The returned
 * objects hold secrets only inside closures: nothing on them serialises a secret.
 */
export function buildSources(
  sources: Record<string, SourceConfig>,
  options: BuildSourcesOptions = {},
): Map<string, IngestSource> {
  const opts = { ...defaults, ...options }
  for (const key of ['now', 'monotonicNow'] as const) {
    if (typeof opts[key] !== 'function') throw new TypeError(`options.${key} must be a function`)
  }
  const map = new Map<string, IngestSource>()
  for (const [name, config] of Object.entries(sources)) {
    const where = `sources.${name}`
    const verify = config.verify
      ? createVerifier(config.verify, { now: opts.now }, `${where}.verify.secret`)
      : () => UNSIGNED
    let limiter: RateLimiter | null = null
    if (config.rateLimit) {
      try {
        limiter = new RateLimiter({
          ...config.rateLimit,
          maxClients: opts.maxClients,
          now: opts.monotonicNow,
        })
      } catch (err) {
        throw new TypeError(`${where}.rateLimit: ${(err as Error).message}`, { cause: err })
      }
    }
    const scope = config.rateLimit?.perClient ? `source ${name}, per client` : `source ${name}`
    map.set(name, {
      name,
      admit: limiter
        ? (client) => {
            const wait = limiter.take(client)
            return wait === 0 ? null : rateLimited(wait, scope)
          }
        : () => null,
      verify,
    })
  }
  return map
}
