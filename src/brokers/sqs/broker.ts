import { GetQueueAttributesCommand, GetQueueUrlCommand, type SQSClient } from '@aws-sdk/client-sqs'
import type { Logger } from '../../log.js'
import type { WebhookEvent } from '../../event.js'
import type { Broker, BrokerFeatures, BrokerState, Delivery, SubscribeOptions } from '../types.js'
import { BrokerUnavailableError } from '../errors.js'
import { createSqsClient, dlqNameFromPolicy } from './client.js'
import { SqsConsumer } from './consumer.js'
import { SqsDeadLetters } from './dead-letters.js'
import { SQS_MAX_EVENT_BYTES } from './envelope.js'
import { resolveSqsOptions, type ResolvedSqsOptions, type SqsBrokerOptions } from './options.js'
import { sendEvents } from './publish.js'

/**
 * Amazon SQS (standard queues). SQS is an HTTP API, so there is no connection to lose: state()
 * reflects the outcome of the latest call, and each call fails on its own when SQS is away.
 * The queue's RedrivePolicy (maxReceiveCount) is the native backstop for poison messages;
 * deadLetter() sends to the DLQ itself so the error travels with the message.
 */
export class SqsBroker implements Broker {
  readonly name = 'sqs'
  readonly deadLetters: SqsDeadLetters
  private readonly options: ResolvedSqsOptions
  private readonly client: SQSClient
  private dlqUrl: string | null = null
  private redrivePolicy = false
  private status: BrokerState = 'connecting'
  private consumer: SqsConsumer | null = null
  private closing: Promise<void> | null = null

  constructor(
    options: SqsBrokerOptions,
    private readonly logger?: Logger,
  ) {
    this.options = resolveSqsOptions(options)
    this.client = this.options.client ?? createSqsClient(this.options)
    this.deadLetters = new SqsDeadLetters(
      () => this.client,
      () => this.options.queueUrl,
      () => this.requireDlq(),
    )
  }

  get features(): BrokerFeatures {
    return { maxEventBytes: SQS_MAX_EVENT_BYTES, nativeRedrive: this.redrivePolicy }
  }

  /** Check the queue exists and find its DLQ (SQS_DLQ_URL, else the RedrivePolicy target). */
  async start(): Promise<void> {
    if (this.closing) throw new BrokerUnavailableError('broker is closed')
    try {
      const out = await this.client.send(
        new GetQueueAttributesCommand({
          QueueUrl: this.options.queueUrl,
          AttributeNames: ['RedrivePolicy'],
        }),
      )
      const target = dlqNameFromPolicy(out.Attributes?.RedrivePolicy)
      this.redrivePolicy = target !== null
      if (this.options.dlqUrl) this.dlqUrl = this.options.dlqUrl
      else if (target) {
        const url = await this.client.send(
          new GetQueueUrlCommand({
            QueueName: target.name,
            QueueOwnerAWSAccountId: target.account,
          }),
        )
        this.dlqUrl = url.QueueUrl ?? null
      }
    } catch (err) {
      this.status = 'down'
      throw new BrokerUnavailableError(`cannot reach SQS queue ${this.options.queueUrl}`, {
        cause: err,
      })
    }
    if (!this.dlqUrl) {
      this.status = 'down'
      throw new Error(
        'the SQS queue has no RedrivePolicy and SQS_DLQ_URL is not set: dead letters would have nowhere to go',
      )
    }
    this.status = 'up'
  }

  private requireDlq(): string {
    if (!this.dlqUrl) throw new BrokerUnavailableError('SQS broker not started')
    return this.dlqUrl
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
        this.options.sendConcurrency,
        this.options.publishRetries,
      )
      this.health(true)
      return out
    } catch (err) {
      if ((err as { code?: string }).code === 'event_too_large') throw err
      this.health(false)
      throw new BrokerUnavailableError('SQS SendMessageBatch failed', { cause: err })
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
        dlqUrl: this.requireDlq(),
        prefetch: options.prefetch,
        onHealth: this.health,
      },
      handler,
      this.logger,
    )
    this.consumer.start()
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
