import { randomUUID } from 'node:crypto'
import { hostname } from 'node:os'
import type { Dispatcher as UndiciDispatcher } from 'undici'
import type { Component } from '../component.js'
import { releaseLeases, type ClaimedDelivery } from '../db/deliveries.js'
import { createEgress } from '../outbound/egress.js'
import { onceAsync, runAll } from '../util/once.js'
import { Attempts } from './attempts.js'
import { Chains } from './chains.js'
import { BacklogGauges } from './backlog-gauges.js'
import { Lanes, type Lane, type LaneView } from './lanes.js'
import { flowTransitions } from './metrics.js'
import { HealthState, type DispatcherHealth } from './health.js'
import type { DeliveryResult, RecordOutcome } from '../db/delivery-results.js'
import { Notifier } from './notifier.js'
import { resolveOptions, type DispatcherOptions, type ResolvedOptions } from './options.js'
import { ResultWriter } from './result-writer.js'
import { SubscriptionCache } from './subscription-cache.js'
import { handedAsClaimed, offerOf, type HandedDeliveries } from './first-leases.js'
import { unpackBodies } from '../util/packed-bodies.js'
import { ClaimNeed } from './claim-need.js'
import { ClaimLoop } from './claim-loop.js'

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
  private readonly healthState = new HealthState()
  private readonly need = new ClaimNeed()
  private readonly loop: ClaimLoop

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
      retryAt: (at) => this.loop.in(at - Date.now()),
    })
    this.chains = new Chains(this.o.pool, this.o.watermark, (err) =>
      log?.warn({ err }, 'sweeping ordered deliveries failed; trying again later'),
    )
    this.gauges = new BacklogGauges(this.o.pool, this.o.gaugeMs, () => this.attempts.size)
    this.loop = new ClaimLoop({
      o: this.o,
      owner: this.owner,
      cache: this.cache,
      lanes: this.lanes,
      attempts: this.attempts,
      writer: this.writer,
      chains: this.chains,
      need: this.need,
      health: this.healthState,
      signal: this.stop.signal,
      begin: (d) => this.begin(d),
      full: () => this.full(),
      offerLeases: () => this.offerLeases(),
    })
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
    this.loop.soon()
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
    if (this.need.afterWritten(subscriptions, outcome.released.length)) this.loop.soon()
    else this.offerLeases()
  }

  /** No room for another attempt on this node: maxInFlight counts claimed and handed ones. */
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
      .then(() => this.loop.soon())
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

  private subscriptionsChanged(): void {
    this.lanes.prune((id) => this.cache.get(id) !== undefined)
    // Lanes follow the cache now (a pause began or ended), not at the next claim.
    const now = Date.now()
    for (const sub of this.cache.all()) this.lanes.of(sub, now)
    this.loop.soon()
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
    const claims = this.loop.close()
    await runAll(
      [
        ['claims', () => claims],
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
