import {
  ChangeMessageVisibilityCommand,
  ReceiveMessageCommand,
  type Message,
  type SQSClient,
} from '@aws-sdk/client-sqs'
import type { Logger } from '../../log.js'
import type { Delivery } from '../types.js'
import { backoffDelay, sleep } from '../../util/backoff.js'
import { DeliveryGoneError } from '../errors.js'
import type { WebhookEvent } from '../../event.js'
import { decodeEnvelope, rawSqsEvent } from './envelope.js'
import type { ResolvedSqsOptions } from './options.js'
import { DeleteBatcher, setVisibility } from './settle.js'

export interface SqsConsumerContext {
  client: SQSClient
  options: ResolvedSqsOptions
  prefetch: number
  onHealth: (up: boolean) => void
}

/**
 * Long-poll receive loop. While a delivery is unacked its visibility timeout is extended every
 * third of it (a heartbeat), so slow processing is not redelivered; a crashed consumer stops
 * extending and SQS redelivers after the timeout. attempt = ApproximateReceiveCount.
 */
export class SqsConsumer {
  private readonly abort = new AbortController()
  private readonly inflight = new Set<string>()
  private readonly deletes: DeleteBatcher
  private slotFreed: (() => void) | null = null
  private heartbeat: NodeJS.Timeout | null = null
  private loop: Promise<void> | null = null

  constructor(
    private readonly ctx: SqsConsumerContext,
    private readonly handler: (d: Delivery) => void,
    private readonly logger?: Logger,
  ) {
    this.deletes = new DeleteBatcher(ctx.client, ctx.options.queueUrl)
  }

  start(): void {
    const every = (this.ctx.options.visibilityTimeoutSeconds * 1000) / 3
    this.heartbeat = setInterval(() => void this.extend(), every)
    this.loop = this.run()
  }

  private async run(): Promise<void> {
    const { client, options: o } = this.ctx
    let failures = 0
    while (!this.abort.signal.aborted) {
      if (this.inflight.size >= this.ctx.prefetch) {
        await new Promise<void>((r) => (this.slotFreed = r))
        continue
      }
      let messages: Message[]
      try {
        const out = await client.send(
          new ReceiveMessageCommand({
            QueueUrl: o.queueUrl,
            MaxNumberOfMessages: Math.min(10, this.ctx.prefetch - this.inflight.size),
            WaitTimeSeconds: o.waitTimeSeconds,
            VisibilityTimeout: o.visibilityTimeoutSeconds,
            MessageSystemAttributeNames: ['ApproximateReceiveCount'],
            MessageAttributeNames: ['All'],
          }),
          { abortSignal: this.abort.signal },
        )
        messages = out.Messages ?? []
        failures = 0
        this.ctx.onHealth(true)
      } catch (err) {
        if (this.abort.signal.aborted) break
        this.ctx.onHealth(false)
        this.logger?.warn({ err }, 'SQS receive failed; backing off')
        await sleep(
          backoffDelay(failures++, o.reconnectBaseMs, o.reconnectMaxMs),
          this.abort.signal,
        )
        continue
      }
      for (const m of messages) this.deliver(m)
    }
  }

  private deliver(m: Message): void {
    const { client, options: o } = this.ctx
    const handle = m.ReceiptHandle!
    const attempt = Number(m.Attributes?.ApproximateReceiveCount ?? 1) || 1
    this.inflight.add(handle)
    let settled = false
    const settle = async (fn: () => Promise<void>): Promise<void> => {
      if (settled) throw new DeliveryGoneError('delivery already settled')
      if (this.abort.signal.aborted)
        throw new DeliveryGoneError('consumer closed; the message will be redelivered')
      settled = true
      try {
        await fn()
        this.release(handle)
      } catch (err) {
        settled = false
        throw err
      }
    }
    let event: WebhookEvent
    let malformed: string | undefined
    try {
      event = decodeEnvelope(m.Body ?? '')
    } catch (err) {
      malformed = `undecodable: ${(err as Error).message}`
      event = rawSqsEvent(m)
    }
    const delivery: Delivery = {
      event,
      attempt,
      ...(malformed ? { malformed } : {}),
      ack: () => settle(() => this.deletes.delete(handle)),
      // Visibility is the delay: the message reappears, with a receive count one higher.
      retry: (delayMs) =>
        settle(async () => {
          const seconds = Math.min(43_200, Math.max(0, Math.ceil(delayMs / 1000)))
          await client.send(
            new ChangeMessageVisibilityCommand({
              QueueUrl: o.queueUrl,
              ReceiptHandle: handle,
              VisibilityTimeout: seconds,
            }),
          )
        }),
    }
    try {
      this.handler(delivery)
    } catch (err) {
      this.logger?.error({ err, id: event.id }, 'subscriber threw; the message stays in flight')
    }
  }

  private release(handle: string): void {
    this.inflight.delete(handle)
    const wake = this.slotFreed
    this.slotFreed = null
    wake?.()
  }

  private async extend(): Promise<void> {
    const handles = [...this.inflight]
    if (!handles.length) return
    try {
      await setVisibility(
        this.ctx.client,
        this.ctx.options.queueUrl,
        handles,
        this.ctx.options.visibilityTimeoutSeconds,
      )
    } catch (err) {
      this.logger?.warn({ err }, 'extending SQS visibility failed')
    }
  }

  /** Stop receiving; unsettled deliveries are made visible again at once. */
  async close(): Promise<void> {
    this.abort.abort()
    if (this.heartbeat) clearInterval(this.heartbeat)
    this.slotFreed?.()
    await this.loop?.catch(() => {})
    await this.deletes.drain()
    const handles = [...this.inflight]
    this.inflight.clear()
    await setVisibility(this.ctx.client, this.ctx.options.queueUrl, handles, 0).catch(
      (err: unknown) =>
        this.logger?.warn(
          { err },
          'could not return in-flight messages; they reappear after the visibility timeout',
        ),
    )
  }
}
