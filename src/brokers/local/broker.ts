import type { Logger } from '../../log.js'
import type {
  HeldEvents,
  Broker,
  BrokerFeatures,
  BrokerState,
  Delivery,
  LegacyDeadLetter,
  LegacyDeadLetterSource,
  SubscribeOptions,
} from '../types.js'
import type { WebhookEvent } from '../../event.js'
import { BrokerUnavailableError, DeliveryGoneError } from '../errors.js'
import { resolveLocalOptions, type LocalBrokerOptions } from './options.js'
import { QueueStore, type Leased } from './store.js'

/**
 * The embedded broker: a queue in `<dataDir>/queue.db`. At-least-once: a delivery is leased,
 * the lease is extended while the handler holds it, and it runs out (so the message is
 * delivered again) if the process dies. A poll loop is the source of truth; publishes and
 * settlements in this process only wake it early.
 */
export class LocalBroker implements Broker, LegacyDeadLetterSource, HeldEvents {
  readonly name = 'local'
  readonly features: BrokerFeatures
  private readonly options: Required<LocalBrokerOptions>
  private store: QueueStore | null = null
  private status: BrokerState = 'connecting'
  private handler: ((d: Delivery) => void) | null = null
  private prefetch = 1
  private readonly inflight = new Map<string, Leased>()
  private pollTimer: NodeJS.Timeout | null = null
  private heartbeat: NodeJS.Timeout | null = null
  private wakeScheduled = false
  /** Acks of this turn of the event loop, committed together (one fsync, not one per ack). */
  private acks: Array<{ seq: number; lease: string; done: (err?: Error) => void }> = []
  private closing: Promise<void> | null = null

  constructor(
    options: LocalBrokerOptions,
    private readonly logger?: Logger,
  ) {
    this.options = resolveLocalOptions(options)
    this.features = Object.freeze({ maxEventBytes: this.options.maxEventBytes })
  }

  async start(): Promise<void> {
    if (this.closing) throw new BrokerUnavailableError('local broker is closed')
    if (this.store) return
    try {
      this.store = new QueueStore(this.options.dataDir, this.options.synchronous)
    } catch (err) {
      this.status = 'down'
      throw new BrokerUnavailableError(`cannot open ${this.options.dataDir}/queue.db`, {
        cause: err,
      })
    }
    this.status = 'up'
  }

  state(): BrokerState {
    return this.status
  }

  oldestHeldAt(): number | null {
    // Not open yet: what queue.db holds is unknown, so nothing may count as stored.
    return this.store ? this.store.oldestReceivedAt() : 0
  }

  async publish(events: readonly WebhookEvent[]): Promise<boolean[]> {
    const store = this.open()
    if (events.length) store.insert(events, Date.now())
    this.wake()
    return events.map(() => true)
  }

  async subscribe(handler: (d: Delivery) => void, options: SubscribeOptions): Promise<void> {
    this.open()
    if (this.handler) throw new Error('this broker already has a subscriber')
    if (!Number.isSafeInteger(options?.prefetch) || options.prefetch < 1) {
      throw new TypeError('options.prefetch must be a positive integer')
    }
    this.handler = handler
    this.prefetch = options.prefetch
    const every = Math.max(1, Math.floor(this.options.leaseMs / 3))
    this.heartbeat = setInterval(() => this.extendLeases(), every)
    this.heartbeat.unref()
    this.poll()
  }

  private open(): QueueStore {
    if (this.closing || !this.store) {
      throw new BrokerUnavailableError(this.closing ? 'local broker is closed' : 'not started')
    }
    return this.store
  }

  /** Run the poll loop soon (coalesced), instead of waiting for the next tick of the timer. */
  private wake(): void {
    if (!this.handler || this.wakeScheduled || this.closing) return
    this.wakeScheduled = true
    setImmediate(() => {
      this.wakeScheduled = false
      this.poll()
    })
  }

  private poll(): void {
    if (this.pollTimer) clearTimeout(this.pollTimer)
    this.pollTimer = null
    if (this.closing || !this.store || !this.handler) return
    try {
      while (this.inflight.size < this.prefetch) {
        const want = this.prefetch - this.inflight.size
        const leased = this.store.lease(want, Date.now(), this.options.leaseMs)
        for (const l of leased) this.deliver(l)
        if (leased.length < want) break
      }
    } catch (err) {
      this.logger?.error({ err }, 'local queue poll failed')
    }
    this.pollTimer = setTimeout(() => this.poll(), this.options.pollIntervalMs)
    this.pollTimer.unref()
  }

  private deliver(l: Leased): void {
    this.inflight.set(l.lease, l)
    let settled = false
    const settle = (fn: (store: QueueStore) => void): Promise<void> => {
      if (settled) return Promise.reject(new DeliveryGoneError('delivery already settled'))
      if (this.closing || !this.store || !this.inflight.has(l.lease)) {
        return Promise.reject(new DeliveryGoneError('broker closed; it will be redelivered'))
      }
      settled = true
      try {
        fn(this.store)
      } catch (err) {
        settled = false
        return Promise.reject(err instanceof Error ? err : new Error(String(err)))
      } finally {
        if (settled) this.inflight.delete(l.lease)
        this.wake()
      }
      return Promise.resolve()
    }
    const lost = () => {
      throw new DeliveryGoneError('lease expired and the message went to another consumer')
    }
    const delivery: Delivery = {
      event: l.event,
      attempt: l.attempt,
      ack: () => {
        if (settled) return Promise.reject(new DeliveryGoneError('delivery already settled'))
        if (this.closing || !this.inflight.has(l.lease)) {
          return Promise.reject(new DeliveryGoneError('broker closed; it will be redelivered'))
        }
        settled = true
        return this.queueAck(l)
      },
      retry: (delayMs) =>
        settle((s) => s.retry(l.seq, l.lease, Date.now() + Math.max(0, delayMs)) || lost()),
    }
    try {
      this.handler?.(delivery)
    } catch (err) {
      this.logger?.error({ err, id: l.event.id }, 'subscriber threw; the lease will expire')
    }
  }

  private queueAck(l: Leased): Promise<void> {
    return new Promise((resolve, reject) => {
      this.acks.push({ seq: l.seq, lease: l.lease, done: (err) => (err ? reject(err) : resolve()) })
      if (this.acks.length === 1) setImmediate(() => this.flushAcks())
    })
  }

  private flushAcks(): void {
    const batch = this.acks
    this.acks = []
    if (!batch.length) return
    let error: Error | undefined
    try {
      if (!this.store) throw new DeliveryGoneError('broker closed; it will be redelivered')
      this.store.ack(batch.map((a) => a.seq))
    } catch (err) {
      error = err as Error
    }
    for (const a of batch) {
      this.inflight.delete(a.lease)
      a.done(error)
    }
    this.wake()
  }

  private extendLeases(): void {
    if (!this.store || this.inflight.size === 0) return
    try {
      this.store.extend([...this.inflight.keys()], Date.now() + this.options.leaseMs)
    } catch (err) {
      this.logger?.error({ err }, 'extending leases failed')
    }
  }

  /** Move what a 0.1 queue file kept in its `dead` table into Postgres (see LegacyDeadLetterSource). */
  async drainLegacyDeadLetters(
    take: (letters: LegacyDeadLetter[]) => Promise<void>,
  ): Promise<number> {
    let moved = 0
    for (
      let batch = this.open().legacyDead(100);
      batch.length;
      batch = this.open().legacyDead(100)
    ) {
      await take(batch)
      this.open().removeLegacyDead(batch.map((l) => l.seq))
      moved += batch.length
    }
    return moved
  }

  close(): Promise<void> {
    this.closing ??= this.shutdown()
    return this.closing
  }

  private async shutdown(): Promise<void> {
    if (this.pollTimer) clearTimeout(this.pollTimer)
    if (this.heartbeat) clearInterval(this.heartbeat)
    this.pollTimer = this.heartbeat = null
    this.status = 'closed'
    this.flushAcks() // acks already promised go through before the store closes
    const store = this.store
    this.store = null
    if (!store) return
    try {
      // Hand unsettled deliveries back now rather than after their leases run out.
      store.release([...this.inflight.keys()], Date.now())
    } catch (err) {
      this.logger?.warn({ err }, 'could not release leases; they will expire')
    } finally {
      this.inflight.clear()
      store.close()
    }
  }
}
