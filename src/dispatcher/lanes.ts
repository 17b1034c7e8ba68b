import { Breaker, type BreakerOptions, type BreakerState } from './breaker.js'

/** The limits of one subscription that the dispatcher enforces in memory. */
export interface LaneLimits {
  readonly maxInFlight: number
  readonly rate: { readonly perSecond: number; readonly burst: number } | null
}

/**
 * One subscription's lane on this node: what it has in flight, its token bucket and its
 * breaker. The claim asks each lane for its room, so no subscription is ever given more
 * deliveries than it may start; a lane's trouble stays in its lane.
 */
export class Lane {
  inFlight = 0
  readonly breaker: Breaker
  private tokens: number
  private refilledAt: number

  constructor(
    private limits: LaneLimits,
    breaker: BreakerOptions,
    nowMs: number,
  ) {
    this.breaker = new Breaker(breaker)
    this.tokens = limits.rate?.burst ?? 0
    this.refilledAt = nowMs
  }

  /** The subscription changed: new limits apply from now; the bucket keeps what it holds. */
  update(limits: LaneLimits): void {
    this.limits = limits
    if (limits.rate) this.tokens = Math.min(this.tokens, limits.rate.burst)
  }

  /** Deliveries this lane may start now: in-flight cap, whole tokens and the breaker. */
  room(nowMs: number): number {
    const byFlight = this.limits.maxInFlight - this.inFlight
    const byRate = this.limits.rate ? Math.floor(this.refill(nowMs)) : Infinity
    return Math.max(0, Math.min(byFlight, byRate, this.breaker.allowance(nowMs)))
  }

  /** When a lane with no room for a reason other than its in-flight cap gets room again. */
  roomAt(nowMs: number): number | null {
    if (this.room(nowMs) > 0 || this.inFlight >= this.limits.maxInFlight) return null
    const opens = this.breaker.halfOpensAt()
    if (opens !== null && opens > nowMs) return opens
    const rate = this.limits.rate
    if (rate && this.tokens < 1)
      return nowMs + Math.ceil(((1 - this.tokens) * 1000) / rate.perSecond)
    return null
  }

  started(nowMs: number): void {
    this.inFlight++
    if (this.limits.rate) this.tokens = Math.max(0, this.refill(nowMs) - 1)
    this.breaker.started(nowMs)
  }

  /**
   * An attempt ended; returns the breaker's new state when it moved. It stays in flight until
   * released(): its lease, which every node's claim counts, lasts until its result is written.
   */
  finished(success: boolean | null, nowMs: number): BreakerState | null {
    if (success === null) return null
    return success ? this.breaker.succeeded() : this.breaker.failed(nowMs)
  }

  /** The result is written and the lease given back. */
  released(): void {
    this.inFlight--
  }

  /** Nothing in flight and a closed breaker: the lane can be dropped with no state lost. */
  idle(nowMs: number): boolean {
    return this.inFlight === 0 && this.breaker.state(nowMs) === 'closed'
  }

  private refill(nowMs: number): number {
    const rate = this.limits.rate
    if (!rate) return Infinity
    const elapsed = Math.max(0, nowMs - this.refilledAt)
    this.tokens = Math.min(rate.burst, this.tokens + (elapsed * rate.perSecond) / 1000)
    this.refilledAt = Math.max(this.refilledAt, nowMs)
    return this.tokens
  }
}

/** One lane as the admin API shows it; a subscription with no lane is idle and closed. */
export interface LaneView {
  readonly subscriptionId: string
  readonly inFlight: number
  readonly breaker: BreakerState
}

/** The lanes of the cached subscriptions; a lane outlives its subscription until it is idle. */
export class Lanes {
  private readonly lanes = new Map<string, Lane>()

  constructor(private readonly breaker: BreakerOptions) {}

  /** The lane of `sub`, created on first use, its limits refreshed from the cache. */
  of(sub: LaneLimits & { readonly id: string }, nowMs: number): Lane {
    let lane = this.lanes.get(sub.id)
    if (lane) lane.update(sub)
    else this.lanes.set(sub.id, (lane = new Lane(sub, this.breaker, nowMs)))
    return lane
  }

  get(id: string): Lane | undefined {
    return this.lanes.get(id)
  }

  /** Each lane's in-flight count and breaker state now (the operator's view of this node). */
  view(nowMs: number): LaneView[] {
    return [...this.lanes].map(([id, lane]) => ({
      subscriptionId: id,
      inFlight: lane.inFlight,
      breaker: lane.breaker.state(nowMs),
    }))
  }

  /** Drop idle lanes of subscriptions that left the cache (deleted or disabled). */
  prune(cached: (id: string) => boolean, nowMs: number): void {
    for (const [id, lane] of this.lanes) {
      if (!cached(id) && lane.idle(nowMs)) this.lanes.delete(id)
    }
  }
}
