import { claimDue, msUntilDue, releaseLeases, type ClaimedDelivery } from '../db/deliveries.js'
import { takeProbeSlots } from '../db/probes.js'
import { backoffDelay } from '../util/backoff.js'
import type { Attempts } from './attempts.js'
import type { Chains } from './chains.js'
import type { ClaimNeed } from './claim-need.js'
import type { HealthState } from './health.js'
import type { Lanes } from './lanes.js'
import type { ResolvedOptions } from './options.js'
import type { ResultWriter } from './result-writer.js'
import type { SubscriptionCache } from './subscription-cache.js'
import { WakeTimer } from './wake-timer.js'

/** With something overdue that this node could not claim (other nodes' leases), look again after. */
const OVERDUE_RECHECK_MS = 250

/** What the claim loop shares with the rest of the dispatcher (src/dispatcher/dispatcher.ts). */
export interface ClaimLoopParts {
  o: ResolvedOptions
  owner: string
  cache: SubscriptionCache
  lanes: Lanes
  attempts: Pick<Attempts, 'size' | 'ids'>
  writer: Pick<ResultWriter, 'ids'>
  chains: Chains
  need: ClaimNeed
  health: HealthState
  /** Aborted when the dispatcher closes: no claim, no wake after it. */
  signal: AbortSignal
  /** Starts one claimed delivery; false when it must wait (it is given back). */
  begin(d: ClaimedDelivery): boolean
  /** No room for another attempt on this node. */
  full(): boolean
  /** Offer the store statement the first attempts this node could start now. */
  offerLeases(): void
}

/**
 * The dispatcher's claims: one at a time, a wake during it claims again right after; between
 * claims one timer sleeps until the earliest of a due delivery, a lane's room coming back and
 * the poll. A failed claim is retried with back-off.
 */
export class ClaimLoop {
  private pumping: Promise<void> | null = null
  private arming: Promise<void> | null = null
  private wanted = false
  private failures = 0
  private readonly timer = new WakeTimer(() => this.soon())

  constructor(private readonly p: ClaimLoopParts) {}

  /** Something may be due: claim now, or right after the claim in progress. */
  soon(): void {
    if (this.p.signal.aborted) return
    this.p.need.maybeDue()
    this.wanted = true
    this.pumping ??= this.pump().finally(() => {
      this.pumping = null
      if (this.wanted) this.soon()
    })
  }

  /** Claim in `ms` unless a wake is set for sooner. */
  in(ms: number): void {
    this.timer.in(ms)
  }

  /** Stops the timer; resolves once the claim and the wake's probe under way ended. */
  async close(): Promise<void> {
    this.timer.close()
    await this.pumping
    await this.arming
  }

  private async pump(): Promise<void> {
    this.timer.clear()
    try {
      while (this.wanted && !this.p.signal.aborted) {
        this.wanted = false
        await this.claimOnce()
      }
      this.failures = 0
      this.p.health.succeeded('claims')
    } catch (err) {
      this.failed(err)
      return
    }
    // Not awaited: a wake while its probe runs (a write just freed leases) claims at once
    // instead of after it. Its timer can only move a wake earlier, so a stale one costs a claim.
    if (!this.p.signal.aborted) this.arming = this.arm().catch((err) => this.failed(err))
  }

  private failed(err: unknown): void {
    if (this.p.signal.aborted) return
    this.p.need.failed()
    this.p.health.failed('claims', err)
    this.p.o.logger?.warn({ err }, 'claiming deliveries failed; retrying')
    this.timer.in(backoffDelay(this.failures++, 200, 10_000))
  }

  private async claimOnce(): Promise<void> {
    const { o, attempts, need } = this.p
    const free = o.maxInFlight - attempts.size
    if (free <= 0) return
    need.claiming()
    // Ordered chains are advanced before the claim; trouble there must not stop the rest.
    const again = await this.p.chains.advance(this.p.cache.hasOrdered()).catch((err: unknown) => {
      o.logger?.warn({ err }, 'advancing ordered deliveries failed; retrying')
      return OVERDUE_RECHECK_MS
    })
    if (again !== null) this.timer.in(again)
    await this.askForProbes()
    const now = Date.now()
    const rooms = new Map<string, number>()
    const roomless: string[] = []
    for (const sub of this.p.cache.all()) {
      const room = this.p.lanes.of(sub, now).room(now)
      if (room > 0) rooms.set(sub.id, room)
      else roomless.push(sub.id)
    }
    const limit = Math.min(free, o.claimBatch)
    const { deliveries: claimed, more } = await claimDue(o.pool, {
      owner: this.p.owner,
      leaseMs: o.timeoutMs + o.leaseMarginMs,
      rooms,
      exclude: [...attempts.ids(), ...this.p.writer.ids()],
      limit,
    })
    // A full claim: more may be waiting, claim again at once.
    if (claimed.length >= limit) this.wanted = true
    const unused: ClaimedDelivery[] = []
    // A hand-over may have filled the node while the claim ran: maxInFlight counts both.
    for (const d of claimed) {
      if (this.p.full() || !this.p.begin(d)) unused.push(d)
    }
    // Given back, they are due at once: a claim after the next write takes them.
    need.claimed(more, roomless, claimed.length >= limit || unused.length > 0)
    // A claim cut by its limit may have left any subscription it asked for.
    if (claimed.length >= limit) need.left(rooms.keys())
    need.left(unused.map((d) => d.subscriptionId))
    this.p.offerLeases()
    await releaseLeases(
      o.pool,
      this.p.owner,
      unused.map((d) => d.id),
    )
  }

  /**
   * Paused subscriptions whose probe may be due ask Postgres for the slot: one probe per
   * interval across every node. A won slot is room for one delivery, the oldest due.
   */
  private async askForProbes(): Promise<void> {
    const now = Date.now()
    const asking: string[] = []
    for (const sub of this.p.cache.all()) {
      if (this.p.lanes.of(sub, now).wantsProbe(now)) asking.push(sub.id)
    }
    if (asking.length === 0) return
    const slots = await takeProbeSlots(this.p.o.pool, asking, this.p.o.flow.probeIntervalMs)
    for (const slot of slots) {
      this.p.lanes.get(slot.subscriptionId)?.probeSlot(slot.won, Date.now() + slot.inMs)
    }
  }

  /** Sleep until the earliest of: a due delivery, a lane's room coming back, the poll. */
  private async arm(): Promise<void> {
    const now = Date.now()
    let delay = this.p.o.pollMs
    const roomy: string[] = []
    for (const sub of this.p.cache.all()) {
      const lane = this.p.lanes.of(sub, now)
      if (lane.room(now) > 0) roomy.push(sub.id)
      const at = lane.roomAt(now)
      if (at !== null) delay = Math.min(delay, at - now)
    }
    if (this.p.attempts.size < this.p.o.maxInFlight) {
      const due = await msUntilDue(this.p.o.pool, roomy)
      if (due !== null) delay = Math.min(delay, due > 0 ? due : OVERDUE_RECHECK_MS)
    }
    this.timer.in(delay)
  }
}
