import { randomUUID } from 'node:crypto'
import { hostname } from 'node:os'
import type { Dispatcher as UndiciDispatcher } from 'undici'
import type { Component } from '../component.js'
import { claimDue, msUntilDue, releaseLeases, type ClaimedDelivery } from '../db/deliveries.js'
import { createEgress } from '../outbound/egress.js'
import { onceAsync, runAll } from '../util/once.js'
import { backoffDelay } from '../util/backoff.js'
import { Attempts } from './attempts.js'
import { Chains } from './chains.js'
import { BacklogGauges } from './backlog-gauges.js'
import { Lanes, type Lane, type LaneView } from './lanes.js'
import { flowTransitions } from './metrics.js'
import { HealthState, type DispatcherHealth } from './health.js'
import { takeProbeSlots } from '../db/probes.js'
import type { DeliveryResult, RecordOutcome } from '../db/delivery-results.js'
import { Notifier } from './notifier.js'
import { resolveOptions, type DispatcherOptions, type ResolvedOptions } from './options.js'
import { ResultWriter } from './result-writer.js'
import { SubscriptionCache } from './subscription-cache.js'
import { WakeTimer } from './wake-timer.js'
import { handedAsClaimed, offerOf, type HandedDeliveries } from './first-leases.js'
import { unpackBodies } from '../util/packed-bodies.js'
import { ClaimNeed } from './claim-need.js'

/** With something overdue that this node could not claim (other nodes' leases), look again after. */
const OVERDUE_RECHECK_MS = 250

/**
 * The outbound dispatcher of one node. Postgres holds the schedule: it claims due deliveries
 * under a lease (src/db/deliveries.ts), attempts them, and records each result only while the
 * lease is still its own. It wakes on NOTIFY sluice_deliveries, on wake() (the pipeline stored
 * events), when its next delivery is due, when a lane gets room back, and on a slow poll as the
 * safety net; otherwise it sleeps. One claim runs at a time; a wake during it claims again.
 */
export class Dispatcher implements Component {
  /** The lease owner token: random per dispatcher, so a restarted one is a new owner. */
  readonly owner = randomUUID()
  private readonly o: ResolvedOptions
  private readonly agent: UndiciDispatcher
  private readonly cache: SubscriptionCache
  private readonly notifier: Notifier | null
  private readonly writer: ResultWriter
  private readonly attempts: Attempts
  private readonly gauges: BacklogGauges
  private readonly lanes: Lanes
  private readonly chains: Chains
  private readonly stop = new AbortController()
  private pumping: Promise<void> | null = null
  private arming: Promise<void> | null = null
  private wanted = false
  private failures = 0
  private readonly healthState = new HealthState()
  private readonly need = new ClaimNeed()
  private readonly timer = new WakeTimer(() => this.claimSoon())

  constructor(options: DispatcherOptions) {
    this.o = resolveOptions(options, `${hostname()}:${process.pid}`)
    const log = this.o.logger
    this.lanes = new Lanes(this.o.flow, (id, to) => {
      flowTransitions.inc({ to })
      log?.info({ subscription: id, flow: to }, `subscription ${to}`)
    })
    this.agent = createEgress({
      policy: this.o.policy,
      ...(this.o.resolve ? { resolve: this.o.resolve } : {}),
      ...this.o.egress,
    })
    this.cache = new SubscriptionCache(this.o.pool, this.o.box, {
      pollMs: this.o.subscriptionPollMs,
      logger: log,
      onChange: () => this.subscriptionsChanged(),
    })
    this.notifier = this.o.listen
      ? new Notifier(
          this.o.listen,
          {
            sluice_deliveries: () => this.wake(),
            sluice_subscriptions: () => void this.cache.refresh().catch(() => {}),
          },
          log,
        )
      : null
    this.writer = new ResultWriter({
      pool: this.o.pool,
      owner: this.owner,
      node: this.o.node,
      disableAfterHours: this.o.disableAfterHours,
      flow: this.o.flow,
      logger: log,
      onFailed: (err) => this.healthState.failed('results', err),
      onWritten: (batch, outcome) => this.written(batch, outcome),
    })
    this.attempts = new Attempts(this.o, this.agent, this.writer, {
      changed: (outcome) => this.statesChanged(outcome),
      // A recorded retry may be due before the wake armed when it was still leased.
      retryAt: (at) => this.timer.in(at - Date.now()),
    })
    this.chains = new Chains(this.o.pool, this.o.watermark, (err) =>
      log?.warn({ err }, 'sweeping ordered deliveries failed; trying again later'),
    )
    this.gauges = new BacklogGauges(this.o.pool, this.o.gaugeMs, () => this.attempts.size)
  }

  /** Loads the subscriptions (throws when the database is not there) and starts claiming. */
  async start(): Promise<void> {
    await this.cache.start()
    // Closed while the cache loaded: start nothing that close() has already passed.
    if (this.stop.signal.aborted) return
    this.notifier?.start()
    this.gauges.start()
    this.wake()
  }

  /** New deliveries were stored: some may wait to be linked, others be due. Claim now. */
  wake(): void {
    this.chains.touched()
    this.claimSoon()
  }

  /**
   * Written results free their leases, which the claim counts against max_in_flight: claim
   * when something may wait for that room, else only offer it to the store statement.
   */
  private written(batch: readonly DeliveryResult[], outcome: RecordOutcome): void {
    this.healthState.succeeded('results')
    this.attempts.written(batch, outcome)
    this.chains.released(outcome.released)
    const subscriptions = batch.map((r) => r.subscriptionId)
    if (this.need.afterWritten(subscriptions, outcome.released.length)) this.claimSoon()
    else this.offerLeases()
  }

  /** Something may be due: claim now, or right after the claim in progress. */
  private claimSoon(): void {
    if (this.stop.signal.aborted) return
    this.need.maybeDue()
    this.wanted = true
    this.pumping ??= this.pump().finally(() => {
      this.pumping = null
      if (this.wanted) this.claimSoon()
    })
  }

  private async pump(): Promise<void> {
    this.timer.clear()
    try {
      while (this.wanted && !this.stop.signal.aborted) {
        this.wanted = false
        await this.claimOnce()
      }
      this.failures = 0
      this.healthState.succeeded('claims')
    } catch (err) {
      this.failed(err)
      return
    }
    // Not awaited: a wake while its probe runs (a write just freed leases) claims at once
    // instead of after it. Its timer can only move a wake earlier, so a stale one costs a claim.
    if (!this.stop.signal.aborted) this.arming = this.arm().catch((err) => this.failed(err))
  }

  private failed(err: unknown): void {
    if (this.stop.signal.aborted) return
    this.need.failed()
    this.healthState.failed('claims', err)
    this.o.logger?.warn({ err }, 'claiming deliveries failed; retrying')
    this.timer.in(backoffDelay(this.failures++, 200, 10_000))
  }

  private async claimOnce(): Promise<void> {
    const free = this.o.maxInFlight - this.attempts.size
    if (free <= 0) return
    this.need.claiming()
    // Ordered chains are advanced before the claim; trouble there must not stop the rest.
    const again = await this.chains.advance(this.cache.hasOrdered()).catch((err: unknown) => {
      this.o.logger?.warn({ err }, 'advancing ordered deliveries failed; retrying')
      return OVERDUE_RECHECK_MS
    })
    if (again !== null) this.timer.in(again)
    await this.askForProbes()
    const now = Date.now()
    const rooms = new Map<string, number>()
    const roomless: string[] = []
    for (const sub of this.cache.all()) {
      const room = this.lanes.of(sub, now).room(now)
      if (room > 0) rooms.set(sub.id, room)
      else roomless.push(sub.id)
    }
    const limit = Math.min(free, this.o.claimBatch)
    const { deliveries: claimed, more } = await claimDue(this.o.pool, {
      owner: this.owner,
      leaseMs: this.o.timeoutMs + this.o.leaseMarginMs,
      rooms,
      exclude: [...this.attempts.ids(), ...this.writer.ids()],
      limit,
    })
    // A full claim: more may be waiting, claim again at once.
    if (claimed.length >= limit) this.wanted = true
    const unused: ClaimedDelivery[] = []
    // A hand-over may have filled the node while the claim ran: maxInFlight counts both.
    for (const d of claimed) {
      if (this.full() || !this.begin(d)) unused.push(d)
    }
    // Given back, they are due at once: a claim after the next write takes them.
    this.need.claimed(more, roomless, claimed.length >= limit || unused.length > 0)
    // A claim cut by its limit may have left any subscription it asked for.
    if (claimed.length >= limit) this.need.left(rooms.keys())
    this.need.left(unused.map((d) => d.subscriptionId))
    this.offerLeases()
    await releaseLeases(
      this.o.pool,
      this.owner,
      unused.map((d) => d.id),
    )
  }

  private full(): boolean {
    return this.attempts.size >= this.o.maxInFlight
  }

  /**
   * First attempts the store statement leased to this dispatcher (src/dispatcher/first-leases.ts):
   * started like claimed ones. Those with no room now (a claim took it meanwhile, or the lane
   * narrowed) are given back, due at once. A previous dispatcher's are left to their leases.
   */
  handed(handed: HandedDeliveries): void {
    if (handed.owner !== this.owner) return
    // Each lease began after the batch took the offer. One that may end before an attempt
    // started now could (a slow batch, a busy thread) is given back rather than risked.
    const late = Date.now() - handed.takenAt > this.o.leaseMarginMs / 2
    const bodies = unpackBodies(handed.events).map((e) => e.body)
    const unused: ClaimedDelivery[] = []
    for (const d of handedAsClaimed(handed, bodies)) {
      // Lease ended and claimed again by this dispatcher meanwhile: that attempt is the one.
      // (attempts.has covers an ended attempt whose result the writer still holds)
      if (this.attempts.has(d.id)) continue
      if (late || this.full() || !this.begin(d)) unused.push(d)
    }
    // Given back, they wait: their subscriptions' room is not offered to newer ones.
    this.need.left(unused.map((d) => d.subscriptionId))
    this.offerLeases()
    if (unused.length === 0) return
    // Due at once once given back; this wake claims them (on PGlite, with no LISTEN, the only one).
    releaseLeases(
      this.o.pool,
      this.owner,
      unused.map((d) => d.id),
    )
      .then(() => this.claimSoon())
      .catch((err: unknown) =>
        this.o.logger?.warn({ err }, 'giving back leases failed; they expire instead'),
      )
  }

  /** Offer the store statement the first attempts this node could start now. */
  private offerLeases(): void {
    const send = this.o.offerLeases
    if (!send || this.stop.signal.aborted) return
    const now = Date.now()
    const leaseMs = this.o.timeoutMs + this.o.leaseMarginMs
    const free = this.o.maxInFlight - this.attempts.size
    send(offerOf({ owner: this.owner, leaseMs }, this.offerable(now), free, now))
  }

  /** The lanes whose room may go to new deliveries: none of theirs known to be waiting. */
  private *offerable(now: number): Generator<readonly [string, Lane]> {
    for (const sub of this.cache.all()) {
      if (!this.need.waits(sub.id)) yield [sub.id, this.lanes.of(sub, now)]
    }
  }

  /**
   * Paused subscriptions whose probe may be due ask Postgres for the slot: one probe per
   * interval across every node. A won slot is room for one delivery, the oldest due.
   */
  private async askForProbes(): Promise<void> {
    const now = Date.now()
    const asking: string[] = []
    for (const sub of this.cache.all()) {
      if (this.lanes.of(sub, now).wantsProbe(now)) asking.push(sub.id)
    }
    if (asking.length === 0) return
    const slots = await takeProbeSlots(this.o.pool, asking, this.o.flow.probeIntervalMs)
    for (const slot of slots) {
      this.lanes.get(slot.subscriptionId)?.probeSlot(slot.won, Date.now() + slot.inMs)
    }
  }

  /** Starts one claimed delivery; false when it must not go now (closing, paused meanwhile). */
  private begin(d: ClaimedDelivery): boolean {
    const sub = this.cache.get(d.subscriptionId)
    const lane = this.lanes.get(d.subscriptionId)
    const now = Date.now()
    // Flow control may have narrowed or paused it while the claim ran: those wait, spending nothing.
    if (this.stop.signal.aborted || !sub || !lane || lane.room(now) < 1) return false
    const probe = lane.started(d.id, now)
    this.attempts.run(d, sub, lane, probe)
    return true
  }

  /** The write disabled, paused or resumed subscriptions: every lane follows the reloaded cache. */
  private statesChanged(outcome: RecordOutcome): void {
    for (const id of outcome.paused) {
      this.o.logger?.warn(
        { subscription: id },
        'subscription paused: every attempt failed for a while; only probes go until one succeeds',
      )
    }
    for (const id of outcome.resumed) {
      this.o.logger?.info({ subscription: id }, 'subscription resumed: a delivery succeeded')
    }
    void this.cache.refresh().catch(() => {})
  }

  /** Sleep until the earliest of: a due delivery, a lane's room coming back, the poll. */
  private async arm(): Promise<void> {
    const now = Date.now()
    let delay = this.o.pollMs
    const roomy: string[] = []
    for (const sub of this.cache.all()) {
      const lane = this.lanes.of(sub, now)
      if (lane.room(now) > 0) roomy.push(sub.id)
      const at = lane.roomAt(now)
      if (at !== null) delay = Math.min(delay, at - now)
    }
    if (this.attempts.size < this.o.maxInFlight) {
      const due = await msUntilDue(this.o.pool, roomy)
      if (due !== null) delay = Math.min(delay, due > 0 ? due : OVERDUE_RECHECK_MS)
    }
    this.timer.in(delay)
  }

  private subscriptionsChanged(): void {
    this.lanes.prune((id) => this.cache.get(id) !== undefined)
    // Lanes follow the cache now (a pause began or ended), not at the next claim.
    const now = Date.now()
    for (const sub of this.cache.all()) this.lanes.of(sub, now)
    this.claimSoon()
  }

  /** Whether claims and result writes reach Postgres, for /readyz. */
  health(): DispatcherHealth {
    return this.healthState.view(this.notifier ? this.notifier.connected : null)
  }

  /** In flight and flow control of every subscription this node is delivering to. */
  lanesView(): LaneView[] {
    return this.lanes.view(Date.now())
  }

  /**
   * Stop claiming; give attempts in progress closeGraceMs to end and be recorded. What is
   * still in flight after that keeps its lease, which expires: another node (or this one,
   * restarted) attempts it again, so a delivery is never lost, at worst sent twice.
   */
  close = onceAsync(async () => {
    this.stop.abort()
    this.o.offerLeases?.(null)
    this.timer.close()
    await runAll(
      [
        ['claim', () => this.pumping],
        ['next wake', () => this.arming],
        ['notifier', () => this.notifier?.close()],
        ['subscription cache', () => this.cache.close()],
        ['gauges', () => this.gauges.close()],
        ['ordering sweep', () => this.chains.close()],
        ['attempts', () => this.attempts.settle(this.o.closeGraceMs)],
        ['writer', () => this.writer.close()],
        ['agent', () => this.agent.destroy()],
      ],
      {
        ms: 2000,
        report: (step) => this.o.logger?.warn({ step }, 'closing the dispatcher: a step is slow'),
      },
    )
  })
}
