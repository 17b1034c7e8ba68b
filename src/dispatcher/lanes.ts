import type { FlowOptions } from '../outbound/flow-options.js'
import { Flow, type FlowState, type FlowView, type Signal } from './flow.js'

/** What the lanes report: flow control's states, and a pause beginning or ending. */
export type FlowChange = FlowState | 'resumed'

/** The limits of one subscription that the dispatcher enforces in memory. */
export interface LaneLimits {
  readonly maxInFlight: number
  readonly rate: { readonly perSecond: number; readonly burst: number } | null
  /** Paused in Postgres (src/db/delivery-results.ts): only a probe may go. */
  readonly paused: boolean
}

/**
 * One subscription's lane on this node: what it has in flight, its token bucket and its flow
 * control. The claim asks each lane for its room, so no subscription is ever given more
 * deliveries than it may start; a lane's trouble stays in its lane.
 */
export class Lane {
  inFlight = 0
  readonly flow: Flow
  /** This node won the paused subscription's next probe (src/db/probes.ts) and not used it yet. */
  probeGranted = false
  /** The probe in flight, if any. */
  probing: string | null = null
  /** When to ask for the paused subscription's next probe slot (ms since the epoch). */
  private probeAt = 0
  private tokens: number
  private refilledAt: number

  constructor(
    private limits: LaneLimits,
    flow: FlowOptions,
    nowMs: number,
  ) {
    this.flow = new Flow(limits.maxInFlight, flow)
    this.flow.setPaused(limits.paused)
    this.tokens = limits.rate?.burst ?? 0
    this.refilledAt = nowMs
  }

  /** The subscription changed: new limits apply from now; true when its pause began or ended. */
  update(limits: LaneLimits): boolean {
    this.limits = limits
    this.flow.resize(limits.maxInFlight)
    if (limits.rate) this.tokens = Math.min(this.tokens, limits.rate.burst)
    if (!this.flow.setPaused(limits.paused)) return false
    this.probeGranted = false
    this.probeAt = 0
    return true
  }

  /** Paused, no probe granted or under way, and its time has come: ask for the slot. */
  wantsProbe(nowMs: number): boolean {
    return (
      this.flow.isPaused && !this.probeGranted && this.probing === null && nowMs >= this.probeAt
    )
  }

  /** What asking for a probe slot gave: the slot or not, and when to ask next. */
  probeSlot(won: boolean, nextAtMs: number): void {
    this.probeGranted = won
    this.probeAt = nextAtMs
  }

  /** Deliveries this lane may start now: flow control's limit, whole tokens, or its probe. */
  room(nowMs: number): number {
    if (this.flow.isPaused) return this.probeGranted && this.probing === null ? 1 : 0
    const byFlow = this.flow.limit(nowMs) - this.inFlight
    const byRate = this.limits.rate ? Math.floor(this.refill(nowMs)) : Infinity
    return Math.max(0, Math.min(byFlow, byRate))
  }

  /** When a lane with no room for a reason other than what it has in flight gets room again. */
  roomAt(nowMs: number): number | null {
    if (this.room(nowMs) > 0) return null
    if (this.flow.isPaused) return this.probeGranted || this.probing ? null : this.probeAt
    const held = this.flow.heldUntil(nowMs)
    if (held !== null) return held
    if (this.inFlight >= this.flow.limit(nowMs)) return null
    const rate = this.limits.rate
    if (rate && this.tokens < 1)
      return nowMs + Math.ceil(((1 - this.tokens) * 1000) / rate.perSecond)
    return null
  }

  /** A claimed delivery starts; true when it is the paused subscription's probe. */
  started(id: string, nowMs: number): boolean {
    this.inFlight++
    if (this.limits.rate) this.tokens = Math.max(0, this.refill(nowMs) - 1)
    if (!this.flow.isPaused) return false
    this.probeGranted = false
    this.probing = id
    return true
  }

  /**
   * An attempt ended; returns flow control's new state when it moved. It stays in flight until
   * released(): its lease, which every node's claim counts, lasts until its result is written.
   */
  finished(id: string, signal: Signal, startedMs: number, nowMs: number): FlowState | null {
    if (this.probing === id) this.probing = null
    return this.flow.observe(signal, startedMs, nowMs)
  }

  /** The result is written and the lease given back. */
  released(): void {
    this.inFlight--
  }

  /** Nothing in flight and nothing learnt: the lane can be dropped with no state lost. */
  idle(): boolean {
    return this.inFlight === 0 && this.flow.settled
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

/** One lane as the admin API shows it; a subscription with no lane is idle at full limit. */
export interface LaneView {
  readonly subscriptionId: string
  readonly inFlight: number
  readonly flow: FlowView
}

/** The lanes of the cached subscriptions; a lane outlives its subscription until it is idle. */
export class Lanes {
  private readonly lanes = new Map<string, Lane>()

  constructor(
    private readonly flow: FlowOptions,
    /** A subscription's pause began or ended, as the cache showed it (log and metrics). */
    private readonly moved: (id: string, to: FlowChange) => void = () => {},
  ) {}

  /** The lane of `sub`, created on first use, its limits refreshed from the cache. */
  of(sub: LaneLimits & { readonly id: string }, nowMs: number): Lane {
    let lane = this.lanes.get(sub.id)
    if (!lane) this.lanes.set(sub.id, (lane = new Lane(sub, this.flow, nowMs)))
    else if (lane.update(sub)) this.moved(sub.id, sub.paused ? 'paused' : 'resumed')
    return lane
  }

  get(id: string): Lane | undefined {
    return this.lanes.get(id)
  }

  /** Each lane's in-flight count and flow state now (the operator's view of this node). */
  view(nowMs: number): LaneView[] {
    return [...this.lanes].map(([id, lane]) => ({
      subscriptionId: id,
      inFlight: lane.inFlight,
      flow: lane.flow.view(nowMs),
    }))
  }

  /** Drop idle lanes of subscriptions that left the cache (deleted or disabled). */
  prune(cached: (id: string) => boolean): void {
    for (const [id, lane] of this.lanes) {
      if (!cached(id) && lane.idle()) this.lanes.delete(id)
    }
  }
}
