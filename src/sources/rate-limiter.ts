import { TokenBucket } from './token-bucket.js'

export interface RateLimiterOptions {
  /** Tokens added per second (sustained rate). */
  perSecond: number
  /**
   * Largest burst, in requests.
   * @defaultValue `perSecond` rounded up (at least 1)
   */
  burst?: number
  /**
   * One bucket per client address instead of one for the whole source.
   * @defaultValue false
   */
  perClient?: boolean
  /**
   * Most client buckets kept at once; past it, full buckets are dropped first, then the least
   * recently used, so a flood of distinct addresses cannot grow memory without bound.
   * @defaultValue 10000
   */
  maxClients?: number
  /**
   * Monotonic clock in milliseconds (injectable for tests).
   * @defaultValue performance.now
   */
  now?: () => number
}

const defaults = Object.freeze({
  perClient: false,
  maxClients: 10000,
  now: () => performance.now(),
})

/** Admission control for one source: `take(client)` answers 0 or the seconds to wait. */
export class RateLimiter {
  private readonly options: Required<RateLimiterOptions>
  private readonly shared: TokenBucket | null
  /** Insertion order is recency order: a bucket is re-inserted on every use. */
  private readonly clients = new Map<string, TokenBucket>()

  constructor(options: RateLimiterOptions) {
    const { perSecond } = options
    if (typeof perSecond !== 'number' || !(perSecond > 0) || !Number.isFinite(perSecond)) {
      throw new TypeError('options.perSecond must be a positive number')
    }
    const burst = options.burst ?? Math.max(1, Math.ceil(perSecond))
    if (!Number.isInteger(burst) || burst < 1) {
      throw new TypeError('options.burst must be a positive integer')
    }
    const merged = { ...defaults, ...options, burst }
    if (!Number.isInteger(merged.maxClients) || merged.maxClients < 1) {
      throw new TypeError('options.maxClients must be a positive integer')
    }
    if (typeof merged.now !== 'function') throw new TypeError('options.now must be a function')
    this.options = merged
    this.shared = merged.perClient ? null : new TokenBucket(perSecond, burst, merged.now())
  }

  /** Number of client buckets held (for tests and metrics). */
  get clientCount(): number {
    return this.clients.size
  }

  /** 0 when the request may proceed, else whole seconds until it may (at least 1). */
  take(client: string): number {
    const now = this.options.now()
    if (this.shared) return this.shared.take(now)
    let bucket = this.clients.get(client)
    if (bucket) {
      this.clients.delete(client)
    } else {
      if (this.clients.size >= this.options.maxClients) this.evict(now)
      bucket = new TokenBucket(this.options.perSecond, this.options.burst, now)
    }
    this.clients.set(client, bucket)
    return bucket.take(now)
  }

  /**
   * Make room: drop every full bucket (it carries no state a fresh one would not), and if that
   * frees less than a tenth, the least recently used down to 90% so the sweep stays amortised.
   * Dropping a non-full bucket only forgives that client's debt; memory stays bounded.
   */
  private evict(now: number): void {
    for (const [client, bucket] of this.clients) {
      if (bucket.isFull(now)) this.clients.delete(client)
    }
    const target = Math.floor(this.options.maxClients * 0.9)
    for (const client of this.clients.keys()) {
      if (this.clients.size <= target) break
      this.clients.delete(client)
    }
  }
}
