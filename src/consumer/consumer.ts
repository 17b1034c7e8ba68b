import type { Delivery, Subscriber } from '../brokers/types.js'
import type { Logger } from '../log.js'
import { endToEndSeconds, eventsProcessed } from '../metrics.js'
import { backoffDelay, sleep } from '../util/backoff.js'
import { onceAsync } from '../util/once.js'
import { resolveConsumerOptions, retryDelay, type ConsumerOptions } from './options.js'
import type { BatchProcessor, EventResult } from './types.js'

export interface FailedAttempt {
  source: string
  id: string
  error: string
}

/** Where failed attempts are kept (Postgres) so `sluice dlq list` can explain dead letters. */
export interface FailureLog {
  record(failures: FailedAttempt[]): Promise<void>
  /** Forget the failures of events that were finally stored. */
  clear(keys: { source: string; id: string }[]): Promise<void>
}

export interface ConsumerStatus {
  /** `down` while batches fail and the database does not answer its ping. */
  database: 'up' | 'down'
  inFlightBatches: number
  lastError: string | null
}

/**
 * Takes deliveries from the broker, hands them in batches to the processor (the worker pool),
 * and settles each delivery only after the processor's commit: ack when stored, retry later
 * with a growing delay, or dead-letter after the last attempt. While the database is down,
 * batches are held (not acked, not counted as attempts) and retried with back-off.
 */
export class Consumer {
  private readonly options: Required<ConsumerOptions>
  private readonly stop = new AbortController()
  private readonly running = new Set<Promise<void>>()
  private pending: Delivery[] = []
  private linger: NodeJS.Timeout | null = null
  private lingered = false
  private readonly current: ConsumerStatus = { database: 'up', inFlightBatches: 0, lastError: null }

  constructor(
    private readonly subscriber: Subscriber,
    private readonly processor: BatchProcessor,
    /** Cheap liveness check of the database, to tell an outage from a bad batch. */
    private readonly databaseUp: () => Promise<boolean>,
    private readonly logger: Logger,
    options?: ConsumerOptions,
    /** Told of every failed attempt and of later successes (best effort). */
    private readonly failureLog?: FailureLog,
  ) {
    this.options = resolveConsumerOptions(options)
  }

  /** Prefetch that keeps every batch slot busy with one batch queued behind it. */
  get prefetch(): number {
    return this.options.batchSize * this.options.concurrency * 2
  }

  async start(): Promise<void> {
    await this.subscriber.subscribe((d) => this.onDelivery(d), { prefetch: this.prefetch })
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

  private onDelivery(delivery: Delivery): void {
    if (this.stop.signal.aborted) return
    this.pending.push(delivery)
    this.dispatch()
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
    for (let outage = 0; ; outage++) {
      try {
        const results = await this.processor.run(batch.map((d) => d.event))
        this.current.database = 'up'
        await this.finish(batch, results)
        return
      } catch (err) {
        const message = (err as Error).message ?? String(err)
        this.current.lastError = message
        if (await this.databaseUp().catch(() => false)) {
          // The database is fine, so the batch itself failed (e.g. a worker crashed on it):
          // count an attempt against every event in it.
          const failed: EventResult = {
            ok: false,
            error: message,
            permanent: false,
            processedAt: Date.now(),
          }
          await this.finish(
            batch,
            batch.map(() => failed),
          )
          return
        }
        if (this.current.database === 'up') {
          this.logger.warn({ error: message }, 'database unreachable; holding deliveries unacked')
        }
        this.current.database = 'down'
        // Shutting down during an outage: leave them unacked; the broker redelivers them.
        if (this.stop.signal.aborted) return
        const delay = backoffDelay(outage, this.options.outageBaseMs, this.options.outageCapMs)
        await sleep(delay, this.stop.signal)
        if (this.stop.signal.aborted) return
      }
    }
  }

  /** Settle every delivery; the failure log is updated alongside, never on the ack path. */
  private async finish(batch: Delivery[], results: (EventResult | undefined)[]): Promise<void> {
    await Promise.all([
      this.report(batch, results),
      ...batch.map((d, i) => this.settle(d, results[i])),
    ])
  }

  private async report(batch: Delivery[], results: (EventResult | undefined)[]): Promise<void> {
    const log = this.failureLog
    if (!log) return
    const failures: FailedAttempt[] = []
    const recovered: { source: string; id: string }[] = []
    results.forEach((r, i) => {
      const { event } = batch[i]!
      if (r && !r.ok) failures.push({ source: event.source, id: event.id, error: r.error })
      // Any newly stored event may have failures on record (a redriven one starts again at
      // attempt 1, possibly on another node): one small DELETE per batch clears them.
      else if (r?.ok && r.inserted) recovered.push({ source: event.source, id: event.id })
    })
    await Promise.all([
      failures.length > 0 ? log.record(failures) : null,
      recovered.length > 0 ? log.clear(recovered) : null,
    ]).catch((err: unknown) => this.logger.warn({ err }, 'could not update the failure log'))
  }

  private async settle(delivery: Delivery, result: EventResult | undefined): Promise<void> {
    try {
      if (result?.ok) {
        await delivery.ack()
        eventsProcessed.inc({ outcome: result.inserted ? 'stored' : 'duplicate' })
        if (result.inserted)
          endToEndSeconds.observe(
            Math.max(0, result.processedAt - delivery.event.receivedAt) / 1000,
          )
        return
      }
      const error = result?.error ?? 'processor returned no result for this event'
      if (result?.permanent || delivery.attempt >= this.options.maxAttempts) {
        await delivery.deadLetter(error)
        eventsProcessed.inc({ outcome: 'dead_lettered' })
        this.logger.warn(
          {
            id: delivery.event.id,
            source: delivery.event.source,
            attempt: delivery.attempt,
            error,
          },
          'event dead-lettered',
        )
      } else {
        await delivery.retry(retryDelay(delivery.attempt, this.options), error)
        eventsProcessed.inc({ outcome: 'retried' })
      }
    } catch (err) {
      // The broker link dropped: the delivery is redelivered later, and the idempotent upsert
      // absorbs the repeat.
      this.logger.warn(
        { err, id: delivery.event.id },
        'could not settle delivery; broker will redeliver',
      )
    }
  }
}
