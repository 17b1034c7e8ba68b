/**
 * A token bucket refilled lazily from a monotonic clock: no timers, O(1) per call. Holds at most
 * `capacity` tokens, gains `perSecond` per second, and starts full.
 */
export class TokenBucket {
  private tokens: number
  private last: number

  constructor(
    private readonly perSecond: number,
    private readonly capacity: number,
    nowMs: number,
  ) {
    this.tokens = capacity
    this.last = nowMs
  }

  /** Take one token: 0 when granted, else whole seconds until one is available (at least 1). */
  take(nowMs: number): number {
    this.refill(nowMs)
    if (this.tokens >= 1) {
      this.tokens -= 1
      return 0
    }
    return Math.max(1, Math.ceil((1 - this.tokens) / this.perSecond))
  }

  /** True when the bucket has refilled completely: it then equals a fresh one and can be dropped. */
  isFull(nowMs: number): boolean {
    this.refill(nowMs)
    return this.tokens >= this.capacity
  }

  private refill(nowMs: number): void {
    // A clock that steps back (it should not, being monotonic) must not drain tokens.
    const elapsed = Math.max(0, nowMs - this.last)
    this.tokens = Math.min(this.capacity, this.tokens + (elapsed * this.perSecond) / 1000)
    this.last = Math.max(this.last, nowMs)
  }
}
