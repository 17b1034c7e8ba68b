import type { Logger } from '../../log.js'
import type { WebhookEvent } from '../../event.js'
import type {
  Broker,
  BrokerFeatures,
  BrokerState,
  Delivery,
  LegacyDeadLetter,
  LegacyDeadLetterSource,
  SubscribeOptions,
} from '../types.js'
import { BrokerUnavailableError } from '../errors.js'
import { messagePrefetch, packEnvelopes, perEvent, type EnvelopeLimits } from '../envelope/pack.js'
import { encodeMessage } from './codec.js'
import { RabbitConnection } from './connection.js'
import { RabbitConsumer } from './consumer.js'
import { drainLegacyDlq } from './legacy-dead-letters.js'
import {
  resolveRabbitOptions,
  type RabbitBrokerOptions,
  type ResolvedRabbitOptions,
} from './options.js'
import { ConfirmPublisher } from './publisher.js'
import { queueNames, type QueueNames } from './topology.js'

/**
 * RabbitMQ through amqplib: a durable (quorum by default) queue, persistent messages published
 * on a confirm channel, delayed retry through `<queue>.retry`.
 * The connection reconnects by itself; publish rejects while it is down.
 */
export class RabbitBroker implements Broker, LegacyDeadLetterSource {
  readonly name = 'rabbitmq'
  readonly features: BrokerFeatures
  readonly names: QueueNames
  private readonly options: ResolvedRabbitOptions
  private readonly limits: EnvelopeLimits
  private readonly connection: RabbitConnection
  private readonly publisher: ConfirmPublisher
  private consumer: RabbitConsumer | null = null
  private closing: Promise<void> | null = null

  constructor(
    options: RabbitBrokerOptions,
    private readonly logger?: Logger,
  ) {
    this.options = resolveRabbitOptions(options)
    const o = this.options
    this.names = queueNames(o.queue)
    this.features = Object.freeze({ maxEventBytes: o.maxEventBytes })
    this.limits = { maxEvents: o.envelopeEvents, maxBytes: o.envelopeBytes }
    this.connection = new RabbitConnection({ ...o, names: this.names }, logger)
    this.publisher = new ConfirmPublisher(this.connection, o.confirmWindow, o.publishTimeoutMs)
  }

  /** Resolves once connected and declared; on failure rejects and keeps reconnecting behind it. */
  start(): Promise<void> {
    if (this.closing) return Promise.reject(new BrokerUnavailableError('broker is closed'))
    return this.connection.state() === 'up' ? Promise.resolve() : this.connection.start()
  }

  state(): BrokerState {
    return this.connection.state()
  }

  /** Events go out as envelopes (SLUICE_ENVELOPE_EVENTS per message); one boolean per event. */
  async publish(events: readonly WebhookEvent[]): Promise<boolean[]> {
    if (this.closing) throw new BrokerUnavailableError('broker is closed')
    const groups = packEnvelopes(events, this.limits)
    const confirmed = await this.publisher.publish(
      groups.map((g) => ({ queue: this.names.main, ...encodeMessage(g.map((i) => events[i]!)) })),
    )
    return perEvent(groups, confirmed)
  }

  async subscribe(handler: (d: Delivery) => void, options: SubscribeOptions): Promise<void> {
    if (this.closing) throw new BrokerUnavailableError('broker is closed')
    if (this.consumer) throw new Error('this broker already has a subscriber')
    if (!Number.isSafeInteger(options?.prefetch) || options.prefetch < 1) {
      throw new TypeError('options.prefetch must be a positive integer')
    }
    this.consumer = new RabbitConsumer(
      this.connection,
      this.publisher,
      // Prefetch counts messages; the consumer asks for events.
      { names: this.names, prefetch: messagePrefetch(options.prefetch, this.limits.maxEvents) },
      handler,
      this.logger,
    )
    await this.consumer.start()
  }

  /** Sluice 0.1 dead letters in `<queue>.dlq` move into Postgres (see LegacyDeadLetterSource). */
  drainLegacyDeadLetters(take: (letters: LegacyDeadLetter[]) => Promise<void>): Promise<number> {
    return drainLegacyDlq(this.connection, this.names, take)
  }

  close(): Promise<void> {
    this.closing ??= this.shutdown()
    return this.closing
  }

  private async shutdown(): Promise<void> {
    try {
      await this.consumer?.close()
    } finally {
      await this.connection.close()
    }
  }
}
