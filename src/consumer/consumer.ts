import type { Delivery, Subscriber } from '../brokers/types.js'
import type { Component } from '../component.js'
import type { DeadLetterInput } from '../db/dead-letters.js'
import type { EventKey, EventResult, StorableEvent } from '../event.js'
import type { Logger } from '../log.js'
import { endToEndSeconds, eventsProcessed } from '../metrics.js'
import { PermanentError } from '../permanent-error.js'
import { backoffDelay, sleep } from '../util/backoff.js'
import { onceAsync } from '../util/once.js'
import { RwLock } from '../util/rw-lock.js'
import { resolveConsumerOptions, type ConsumerOptions } from './options.js'
import { RunsAlone, eventKey, type CrashGuard } from './crash-guard.js'
import { batchFault, runIsolating } from './isolate.js'
import { judge, screen, type Verdict } from './policy.js'
import type { BatchProcessor } from './types.js'

export interface FailedAttempt extends EventKey {
  error: string
}

/** Where failed attempts are kept (Postgres), so a dead letter can say when it first failed. */
export interface FailureLog {
  record(failures: FailedAttempt[]): Promise<void>
  /** Forget the failures of events that were finally stored. */
  clear(keys: EventKey[]): Promise<void>
}

/** Where dead letters go (the Postgres table `dead_letters`); must commit before resolving. */
export interface DeadLetterSink {
  write(letters: DeadLetterInput[]): Promise<void>
}

export interface ConsumerDeps {
  subscriber: Subscriber
  /** Processes and commits a batch (the worker pool). */
  processor: BatchProcessor
  deadLetters: DeadLetterSink
  /** Cheap liveness check of the database, to tell an outage from a bad batch. */
  databaseUp: () => Promise<boolean>
  logger: Logger
  /** Told of failed attempts and of later successes (best effort). */
  failureLog?: FailureLog
  /** Told when the database refuses writes as configured (shown in /readyz), and when it is over. */
  health?: { failed(err: PermanentError): void; recovered(): void }
  /**
   * Finds the event a crash loop dies on (crash-guard.ts). Without it, every event of a message
   * delivered more often than maxAttempts without being settled is dead-lettered unprocessed.
   */
  crashGuard?: CrashGuard
}

export interface ConsumerStatus {
  /** `down` while batches fail and the database does not answer its ping. */
  database: 'up' | 'down'
  inFlightBatches: number
  lastError: string | null
}

/**
 * Takes deliveries from the broker, hands them in batches to the processor (the worker pool),
 * and settles each one only after its effects are committed, as the policy says (policy.ts):
 * ack when stored; dead-letter into Postgres and then ack; or retry later. While the database
 * is down, batches are held (not acked, not counted as attempts) and retried with back-off.
 */
export class Consumer implements Component {
  private readonly options: Required<ConsumerOptions>
  private readonly stop = new AbortController()
  private readonly running = new Set<Promise<void>>()
  private pending: Delivery[] = []
  /** Taken from the broker and not settled: for the ordering watermark (oldestUnsettledAt). */
  private readonly unsettled = new Set<Delivery>()
  private linger: NodeJS.Timeout | null = null
  private lingered = false
  private dispatchQueued = false
  private readonly current: ConsumerStatus = { database: 'up', inFlightBatches: 0, lastError: null }
  /** Processor runs take it shared; a crash loop's run alone takes it exclusive (runAlone). */
  private readonly runs = new RwLock()

  constructor(
    private readonly deps: ConsumerDeps,
    options?: ConsumerOptions,
  ) {
    this.options = resolveConsumerOptions(options)
  }

  /** Prefetch that keeps every batch slot busy with one batch queued behind it. */
  get prefetch(): number {
    return this.options.batchSize * this.options.concurrency * 2
  }

  async start(): Promise<void> {
    await this.deps.subscriber.subscribe((d) => this.onDelivery(d), { prefetch: this.prefetch })
  }

  status(): Readonly<ConsumerStatus> {
    return { ...this.current, inFlightBatches: this.running.size }
  }

  /**
   * Stop taking deliveries and finish the batches in flight (their acks included). Deliveries
   * not yet started stay unacked; the broker hands them out again after it closes.
   */
  close = onceAsync(async () => {
    this.stop.abort()
    if (this.linger) clearTimeout(this.linger)
    this.pending = []
    await Promise.allSettled(this.running)
  })

  /** Receipt time of the oldest event taken from the broker and not acked or retried yet. */
  oldestUnsettledAt(): number | null {
    let oldest: number | null = null
    for (const d of this.unsettled) {
      if (oldest === null || d.event.receivedAt < oldest) oldest = d.event.receivedAt
    }
    return oldest
  }

  private onDelivery(delivery: Delivery): void {
    if (this.stop.signal.aborted) return
    this.unsettled.add(delivery)
    this.pending.push(delivery)
    // An adapter hands over all events of a message (an envelope) in one go: dispatch after
    // it, so they are stored as one batch rather than a first event alone and then the rest.
    if (this.dispatchQueued) return
    this.dispatchQueued = true
    queueMicrotask(() => {
      this.dispatchQueued = false
      this.dispatch()
    })
  }

  private dispatch(): void {
    const { batchSize, lingerMs, concurrency } = this.options
    while (this.pending.length > 0 && this.running.size < concurrency) {
      const partial = this.pending.length < batchSize
      if (partial && lingerMs > 0 && this.running.size > 0 && !this.lingered) {
        // Workers are busy anyway: give the batch a moment to fill instead of sending a sliver.
        this.linger ??= setTimeout(() => {
          this.linger = null
          this.lingered = true
          this.dispatch()
        }, lingerMs)
        return
      }
      this.lingered = false
      const batch = this.pending.splice(0, batchSize)
      const task = this.handle(batch).finally(() => {
        this.running.delete(task)
        this.dispatch()
      })
      this.running.add(task)
    }
  }

  private async handle(batch: Delivery[]): Promise<void> {
    const verdicts = new Map<Delivery, Verdict>()
    const work: Delivery[] = []
    const guard = this.deps.crashGuard
    // A crash loop's events are stored one at a time under the guard, not dead-lettered.
    const crashLoop = guard
      ? batch.filter((d) => d.malformed === undefined && d.attempt > this.options.maxAttempts)
      : []
    for (const d of batch) {
      if (crashLoop.includes(d)) continue
      const early = screen(d, this.options)
      if (early) verdicts.set(d, early)
      else work.push(d)
    }
    const results = await this.process(work)
    if (!results) return // closing during a database outage: leave them to the broker
    const culprits = await this.runAlone(crashLoop, verdicts, work, results)
    if (!culprits) return
    work.forEach((d, i) => verdicts.set(d, judge(d, results[i], this.options)))
    const dead = batch.filter((d) => verdicts.get(d)?.action === 'dead-letter')
    // Dead letters are committed before their messages are acked: a crash in between only
    // writes the same rows again when the broker redelivers.
    if (!(await this.untilDone(() => this.writeDeadLetters(dead, verdicts)))) return
    if (guard && culprits.length > 0) {
      // Best effort: a run left begun only matters if this event comes in a crash loop again.
      await guard
        .end(culprits.map((d) => eventKey(d.event)))
        .catch((err: unknown) => this.deps.logger.warn({ err }, 'could not clear a crash mark'))
    }
    const resultOf = new Map(work.map((d, i) => [d, results[i]]))
    await Promise.all([
      this.report(work, results),
      ...batch.map((d) => this.settle(d, verdicts.get(d)!, resultOf.get(d))),
    ])
  }

  /**
   * A crash loop's events, stored one at a time under the guard (crash-guard.ts): each one's
   * result is appended to work and results; the events the engine died on get a dead-letter
   * verdict and are returned. False when the consumer closed first (during an outage).
   */
  private async runAlone(
    crashLoop: Delivery[],
    verdicts: Map<Delivery, Verdict>,
    work: Delivery[],
    results: EventResult[],
  ): Promise<Delivery[] | false> {
    const guard = this.deps.crashGuard
    if (!guard || crashLoop.length === 0) return []
    // Alone in the process, not only in its batch: the processor runs nothing else meanwhile.
    const alone = new RunsAlone(
      guard,
      crashLoop,
      async (e) => (await this.runIsolating([e], (part) => this.deps.processor.run(part)))[0]!,
      (fn) => this.runs.exclusive(fn),
    )
    if (!(await this.untilDone(() => alone.runAll()))) {
      // Closing during an outage: the process lives on, so its begun run is no death. Under
      // the lock, lest it end the same event's run of a redelivery in flight.
      await this.runs
        .exclusive(() => alone.abandon())
        .catch((err: unknown) => this.deps.logger.warn({ err }, 'could not end a run alone'))
      return false
    }
    for (const d of alone.culprits) {
      const error = `the engine died while storing this event alone, delivered ${d.attempt - 1} times without being settled`
      verdicts.set(d, { action: 'dead-letter', reason: 'attempts_exhausted', error })
    }
    for (const [d, r] of alone.results) {
      work.push(d)
      results.push(r)
    }
    return [...alone.culprits]
  }

  /** Results of one processor run, held and retried while the database is unreachable. */
  private async process(work: Delivery[]): Promise<EventResult[] | null> {
    if (work.length === 0) return []
    let results: EventResult[] | null = null
    const done = await this.untilDone(async () => {
      results = await this.runIsolating(work.map((d) => d.event))
    })
    return done ? results : null
  }

  /**
   * Not the events' fault (an outage, a permanent setup problem): rejects, and untilDone holds
   * the batch, counting nothing. Otherwise the database answers, so the batch itself failed
   * (e.g. a worker crashed on it): it is split until the event that fails alone is found, and
   * only that one gets a failed result (an attempt).
   */
  private runIsolating(
    events: StorableEvent[],
    run = (part: StorableEvent[]) => this.runs.shared(() => this.deps.processor.run(part)),
  ): Promise<EventResult[]> {
    return runIsolating(
      events,
      run,
      batchFault(() => this.deps.databaseUp()),
    )
  }

  /**
   * Run `fn` until it succeeds, backing off while the database is unreachable. False when the
   * consumer closed first (nothing may be acked then).
   */
  private async untilDone(fn: () => Promise<void>): Promise<boolean> {
    for (let outage = 0; ; outage++) {
      try {
        await fn()
        this.current.database = 'up'
        this.deps.health?.recovered()
        return true
      } catch (err) {
        const message = (err as Error).message ?? String(err)
        this.current.lastError = message
        if (err instanceof PermanentError) {
          this.deps.health?.failed(err) // logs it at error, once
        } else if (await this.deps.databaseUp().catch(() => false)) {
          // Not an outage, yet the write keeps failing: say so loudly, keep holding.
          this.deps.logger.error({ err }, 'could not write to the database; holding deliveries')
        } else if (this.current.database === 'up') {
          this.deps.logger.warn({ error: message }, 'database unreachable; holding deliveries')
        }
        this.current.database = 'down'
        if (this.stop.signal.aborted) return false
        const { outageBaseMs, outageCapMs } = this.options
        await sleep(backoffDelay(outage, outageBaseMs, outageCapMs), this.stop.signal)
        if (this.stop.signal.aborted) return false
      }
    }
  }

  private async writeDeadLetters(dead: Delivery[], verdicts: Map<Delivery, Verdict>) {
    const letters = dead.map((d): DeadLetterInput => {
      const v = verdicts.get(d) as Extract<Verdict, { action: 'dead-letter' }>
      return { event: d.event, reason: v.reason, attempts: d.attempt, error: v.error }
    })
    await this.deps.deadLetters.write(letters)
  }

  /** Failed attempts that will be retried go to the failure log, off the ack path. */
  private async report(work: Delivery[], results: EventResult[]): Promise<void> {
    const log = this.deps.failureLog
    if (!log) return
    const failures: FailedAttempt[] = []
    const recovered: EventKey[] = []
    results.forEach((r, i) => {
      const d = work[i]!
      const { source, id } = d.event
      if (!r.ok && judge(d, r, this.options).action === 'retry') {
        failures.push({ source, id, error: r.error })
      } else if (r.ok && r.inserted && d.attempt > 1) recovered.push({ source, id })
    })
    await Promise.all([
      failures.length > 0 ? log.record(failures) : null,
      recovered.length > 0 ? log.clear(recovered) : null,
    ]).catch((err: unknown) => this.deps.logger.warn({ err }, 'could not update the failure log'))
  }

  private async settle(delivery: Delivery, verdict: Verdict, result?: EventResult): Promise<void> {
    const { event } = delivery
    try {
      if (verdict.action === 'retry') {
        await delivery.retry(verdict.delayMs)
        eventsProcessed.inc({ outcome: 'retried' })
        return
      }
      await delivery.ack()
      if (verdict.action === 'dead-letter') {
        eventsProcessed.inc({ outcome: 'dead_lettered' })
        this.deps.logger.warn(
          { id: event.id, source: event.source, attempt: delivery.attempt, ...verdict },
          'event dead-lettered',
        )
      } else if (result?.ok) {
        eventsProcessed.inc({ outcome: result.inserted ? 'stored' : 'duplicate' })
        if (result.inserted) {
          endToEndSeconds.observe(Math.max(0, result.processedAt - event.receivedAt) / 1000)
        }
      }
    } catch (err) {
      // The broker link dropped: the delivery is redelivered later, and the idempotent upsert
      // (or the dead-letter row keyed by the event) absorbs the repeat.
      this.deps.logger.warn(
        { err, id: event.id },
        'could not settle delivery; broker will redeliver',
      )
    } finally {
      this.unsettled.delete(delivery)
    }
  }
}
