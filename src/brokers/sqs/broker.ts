import { GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs'
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
import { BrokerUnavailableError, EventTooLargeError } from '../errors.js'
import { createSqsClient } from './client.js'
import { SqsConsumer } from './consumer.js'
import { messagePrefetch, type EnvelopeLimits } from '../envelope/pack.js'
import { SQS_MAX_EVENT_BYTES, sqsEnvelopeLimits } from './envelope.js'
import { permanentSqsError } from './errors.js'
import { drainLegacySqsDlq } from './legacy-dead-letters.js'
import { resolveSqsOptions, type ResolvedSqsOptions, type SqsBrokerOptions } from './options.js'
import { sendEvents } from './publish.js'

/**
 * Amazon SQS (standard queues). SQS is an HTTP API, so there is no connection to lose: state()
 * reflects the outcome of the latest call, and each call fails on its own when SQS is away.
 * Any queue works, with or without a RedrivePolicy: Sluice keeps its dead letters in Postgres.
 * A RedrivePolicy is the broker's own crash-loop guard; its maxReceiveCount should then be
 * above SLUICE_MAX_ATTEMPTS, or SQS moves a message before Sluice has given up on it.
 */
export class SqsBroker implements Broker, LegacyDeadLetterSource {
  readonly name = 'sqs'
  readonly features: BrokerFeatures = Object.freeze({ maxEventBytes: SQS_MAX_EVENT_BYTES })
  private readonly options: ResolvedSqsOptions
  private readonly client: SQSClient
  private readonly limits: EnvelopeLimits
  private status: BrokerState = 'connecting'
  private consumer: SqsConsumer | null = null
  private closing: Promise<void> | null = null

  constructor(
    options: SqsBrokerOptions,
    private readonly logger?: Logger,
  ) {
    this.options = resolveSqsOptions(options)
    this.client = this.options.client ?? createSqsClient(this.options)
    this.limits = sqsEnvelopeLimits(this.options.envelopeEvents, this.options.envelopeBytes)
  }

  /** Check that the queue exists and that these credentials may use it. */
  async start(): Promise<void> {
    if (this.closing) throw new BrokerUnavailableError('broker is closed')
    try {
      await this.client.send(
        new GetQueueAttributesCommand({
          QueueUrl: this.options.queueUrl,
          AttributeNames: ['QueueArn'],
        }),
      )
    } catch (err) {
      this.status = 'down'
      throw (
        permanentSqsError(err, this.options.queueUrl) ??
        new BrokerUnavailableError(`cannot reach SQS queue ${this.options.queueUrl}`, {
          cause: err,
        })
      )
    }
    this.status = 'up'
  }

  state(): BrokerState {
    return this.status
  }

  private health = (up: boolean) => {
    if (!this.closing) this.status = up ? 'up' : 'down'
  }

  async publish(events: readonly WebhookEvent[]): Promise<boolean[]> {
    if (this.closing) throw new BrokerUnavailableError('broker is closed')
    if (!events.length) return []
    try {
      const out = await sendEvents(
        this.client,
        this.options.queueUrl,
        events,
        this.limits,
        this.options.sendConcurrency,
        this.options.publishRetries,
      )
      this.health(true)
      return out
    } catch (err) {
      if (err instanceof EventTooLargeError) throw err
      this.health(false)
      throw (
        permanentSqsError(err, this.options.queueUrl) ??
        new BrokerUnavailableError('SQS SendMessageBatch failed', { cause: err })
      )
    }
  }

  async subscribe(handler: (d: Delivery) => void, options: SubscribeOptions): Promise<void> {
    if (this.closing) throw new BrokerUnavailableError('broker is closed')
    if (this.consumer) throw new Error('this broker already has a subscriber')
    if (!Number.isSafeInteger(options?.prefetch) || options.prefetch < 1) {
      throw new TypeError('options.prefetch must be a positive integer')
    }
    this.consumer = new SqsConsumer(
      {
        client: this.client,
        options: this.options,
        // In-flight messages; the consumer counts events.
        prefetch: messagePrefetch(options.prefetch, this.limits.maxEvents),
        onHealth: this.health,
      },
      handler,
      this.logger,
    )
    this.consumer.start()
  }

  /**
   * Sluice 0.1 dead letters in the queue named by SQS_DLQ_URL move into Postgres. Only that
   * queue, and only when it is set: a RedrivePolicy's DLQ is the operator's (set SQS_DLQ_URL to
   * it once to import what 0.1 put there).
   */
  async drainLegacyDeadLetters(
    take: (letters: LegacyDeadLetter[]) => Promise<void>,
  ): Promise<number> {
    if (!this.options.dlqUrl) return 0
    return drainLegacySqsDlq(this.client, this.options.dlqUrl, take)
  }

  close(): Promise<void> {
    this.closing ??= this.shutdown()
    return this.closing
  }

  private async shutdown(): Promise<void> {
    this.status = 'closed'
    try {
      await this.consumer?.close()
    } finally {
      if (!this.options.client) this.client.destroy()
    }
  }
}
