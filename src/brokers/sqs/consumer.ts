import {
  ReceiveMessageCommand,
  SendMessageCommand,
  type Message,
  type SQSClient,
} from '@aws-sdk/client-sqs'
import type { Logger } from '../../log.js'
import type { Delivery } from '../types.js'
import { backoffDelay, sleep } from '../../util/backoff.js'
import type { WebhookEvent } from '../../event.js'
import { envelopeDeliveries, type MessageSettlement } from '../envelope/settle.js'
import { decodeSqsBody, encodeSqsBody, rawSqsEvent } from './envelope.js'
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
/** Message attribute of a retried subset: the attempt its first receive is. */
const ATTEMPT = 'sluice-attempt'

const clampSeconds = (ms: number, max: number) => Math.min(max, Math.max(0, Math.ceil(ms / 1000)))

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
    // A subset sent back as a new message carries the attempt it will be (its receive count
    // starts again at 1); a whole message retried keeps its count.
    const base = Number(m.MessageAttributes?.[ATTEMPT]?.StringValue ?? 1) || 1
    const attempt = base - 1 + (Number(m.Attributes?.ApproximateReceiveCount ?? 1) || 1)
    this.inflight.add(handle)
    let events: WebhookEvent[]
    let malformed: string | undefined
    try {
      events = decodeSqsBody(m.Body ?? '')
    } catch (err) {
      malformed = `undecodable: ${(err as Error).message}`
      events = [rawSqsEvent(m)]
    }
    // Whatever happens to the settling call, this consumer stops holding the message: after a
    // failure it reappears once its visibility times out.
    const releasing = <T>(p: Promise<T>) => p.finally(() => this.release(handle))
    const message: MessageSettlement = {
      alive: () => !this.abort.signal.aborted && this.inflight.has(handle),
      ack: () => releasing(this.deletes.delete(handle)),
      retry: (retried, delayMs) =>
        releasing(
          retried.length === events.length
            ? // All of it: the visibility is the delay, and the receive count goes up by one.
              setVisibility(client, o.queueUrl, [handle], clampSeconds(delayMs, 43_200))
            : this.sendBack(retried, attempt + 1, delayMs).then(() => this.deletes.delete(handle)),
        ),
    }
    for (const d of envelopeDeliveries(events, attempt, message)) {
      try {
        this.handler(malformed ? { ...d, malformed } : d)
      } catch (err) {
        this.logger?.error({ err, id: d.event.id }, 'subscriber threw; the message stays in flight')
      }
    }
  }

  /** A retried subset of an envelope as a message of its own, not visible before the delay. */
  private async sendBack(events: WebhookEvent[], attempt: number, delayMs: number): Promise<void> {
    await this.ctx.client.send(
      new SendMessageCommand({
        QueueUrl: this.ctx.options.queueUrl,
        MessageBody: encodeSqsBody(events),
        // SQS delays a message 15 minutes at most; a longer retry comes back sooner.
        DelaySeconds: clampSeconds(delayMs, 900),
        MessageAttributes: { [ATTEMPT]: { DataType: 'Number', StringValue: String(attempt) } },
      }),
    )
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
