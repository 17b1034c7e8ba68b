import type { Channel, ConsumeMessage } from 'amqplib'
import type { Logger } from '../../log.js'
import type { Delivery } from '../types.js'
import { DeliveryGoneError } from '../errors.js'
import type { WebhookEvent } from '../../event.js'
import { envelopeDeliveries, type MessageSettlement } from '../envelope/settle.js'
import { H, decodeMessage, encodeMessage, rawEvent } from './codec.js'
import type { Link, RabbitConnection } from './connection.js'
import type { ConfirmPublisher } from './publisher.js'
import type { QueueNames } from './topology.js'

export interface ConsumerSettings {
  names: QueueNames
  prefetch: number
}

/**
 * Consumes the main queue on its own channel and re-subscribes on every new connection. A retry
 * publishes a copy to `<queue>.retry` (through the confirm channel) and acks the original only
 * once the copy is confirmed: a crash in between leaves a duplicate, never a loss. A copy the
 * broker refuses or does not confirm returns the original to the queue after the retry delay
 * (giveBack).
 *
 * attempt = the `sluice-attempt` header (set on retry copies, 1 when absent) + the times this
 * copy was already delivered (`x-delivery-count` on quorum queues; classic queues only say
 * `redelivered`, counted as one).
 */
export class RabbitConsumer {
  private channel: Channel | null = null
  private stopped = false
  /** giveBack timers not yet run; close() clears them (the channel close returns the messages). */
  private readonly givingBack = new Set<NodeJS.Timeout>()
  private readonly onUp = (link: Link) => void this.attach(link)

  constructor(
    private readonly connection: RabbitConnection,
    private readonly publisher: ConfirmPublisher,
    private readonly settings: ConsumerSettings,
    private readonly handler: (d: Delivery) => void,
    private readonly logger?: Logger,
  ) {}

  async start(): Promise<void> {
    this.connection.on('up', this.onUp)
    if (this.connection.link) await this.attach(this.connection.link)
  }

  private async attach(link: Link): Promise<void> {
    if (this.stopped) return
    try {
      const ch = await link.model.createChannel()
      ch.on('error', (err: Error) => this.logger?.warn({ err }, 'RabbitMQ consumer channel error'))
      ch.on('close', () => {
        if (this.channel === ch) this.channel = null
        if (!this.stopped) void this.connection.dropIfCurrent(link.model)
      })
      await ch.prefetch(this.settings.prefetch)
      this.channel = ch
      await ch.consume(
        this.settings.names.main,
        (m) => (m ? this.deliver(ch, m) : this.cancelled(link)),
        { noAck: false },
      )
    } catch (err) {
      this.logger?.warn({ err }, 'could not start consuming; waiting for the next connection')
      await this.connection.dropIfCurrent(link.model)
    }
  }

  /**
   * The broker cancelled the consumer (amqplib passes null): the queue was deleted, or a cluster
   * node holding it went away. Consuming again needs a new subscription, and the one recovery
   * path is a new connection; without this the engine would stay connected and never consume.
   */
  private cancelled(link: Link): void {
    if (this.stopped) return
    this.logger?.warn('RabbitMQ cancelled the consumer; reconnecting to consume again')
    void this.connection.dropIfCurrent(link.model)
  }

  private deliver(ch: Channel, msg: ConsumeMessage): void {
    const h = (msg.properties.headers ?? {}) as Record<string, unknown>
    const base = Number(h[H.attempt] ?? 1) || 1
    const count = h['x-delivery-count']
    const attempt = base + (typeof count === 'number' ? count : msg.fields.redelivered ? 1 : 0)
    const ackOn = () => {
      if (this.channel !== ch)
        throw new DeliveryGoneError(
          'consumer channel closed before the ack; it will be redelivered',
        )
      ch.ack(msg)
    }
    const message: MessageSettlement = {
      alive: () => this.channel === ch,
      ack: async () => ackOn(),
      // A copy of the events to come back goes to <queue>.retry (confirmed) before the
      // original is acked: a crash in between leaves a duplicate, never a loss.
      // If the copy is refused (a bounded retry queue) or its confirm fails, the original
      // goes back to the queue after delayMs (see giveBack).
      retry: async (events, delayMs) => {
        const copy = encodeMessage(events, { [H.attempt]: String(attempt + 1) })
        const retryQueue = this.settings.names.retry
        let ok: boolean | undefined
        try {
          ;[ok] = await this.publisher.publish([
            {
              queue: retryQueue,
              body: copy.body,
              options: { ...copy.options, expiration: String(Math.max(0, Math.round(delayMs))) },
            },
          ])
        } catch (err) {
          this.giveBackLater(ch, msg, delayMs)
          throw new DeliveryGoneError(
            `the copy to ${retryQueue} was not confirmed; the original goes back to the queue after the retry delay`,
            { cause: err },
          )
        }
        if (!ok) {
          this.giveBackLater(ch, msg, delayMs)
          throw new DeliveryGoneError(
            `RabbitMQ refused the copy to ${retryQueue}; the original goes back to the queue after the retry delay`,
          )
        }
        ackOn()
      },
    }
    let events: WebhookEvent[]
    let malformed: string | undefined
    try {
      events = decodeMessage(msg.content, msg.properties)
    } catch (err) {
      malformed = `undecodable: ${(err as Error).message}`
      events = [rawEvent(msg.content, msg.properties)]
    }
    for (const d of envelopeDeliveries(events, attempt, message)) {
      this.hand(malformed ? { ...d, malformed } : d)
    }
  }

  /**
   * Return a message whose retry copy failed to the queue once the retry delay has passed. At
   * once would cycle a failing event with no back-off: as fast as the broker redelivers on a
   * classic queue (where the attempt never grows past base + 1, so the attempt limit never ends
   * it) and every attempt burnt in milliseconds on a quorum queue. Never would hold a prefetch
   * slot until the channel closed, and enough of them stop consumption; for the delay it does.
   * If the channel closes meanwhile, the broker has returned the message and the timer is moot.
   */
  private giveBackLater(ch: Channel, msg: ConsumeMessage, delayMs: number): void {
    const timer = setTimeout(
      () => {
        this.givingBack.delete(timer)
        this.giveBack(ch, msg)
      },
      Math.max(0, delayMs),
    ).unref()
    this.givingBack.add(timer)
  }

  /**
   * Return the message to the queue now. basic.reject, not basic.nack: RabbitMQ counts a reject
   * as a failed delivery in every version (x-delivery-count + 1 on quorum queues; 4.3+ no longer
   * counts a nack), so on quorum queues the redelivery is the next attempt and the attempt limit
   * still bounds the loop while the retry queue refuses. A confirm that timed out may still land
   * the copy as well: a duplicate, which the event id absorbs. On a closed channel there is
   * nothing to do: the broker returns every unacked message itself.
   */
  private giveBack(ch: Channel, msg: ConsumeMessage): void {
    if (this.channel !== ch) return
    try {
      ch.reject(msg, true)
    } catch (err) {
      this.logger?.warn({ err }, 'could not return a message to the queue; the channel is closing')
    }
  }

  private hand(delivery: Delivery): void {
    try {
      this.handler(delivery)
    } catch (err) {
      this.logger?.error(
        { err, id: delivery.event.id },
        'subscriber threw; the message stays unacked',
      )
    }
  }

  /** Stop consuming; unacked deliveries go back to the queue when the channel closes. */
  async close(): Promise<void> {
    this.stopped = true
    this.connection.off('up', this.onUp)
    for (const timer of this.givingBack) clearTimeout(timer)
    this.givingBack.clear()
    const ch = this.channel
    this.channel = null
    if (ch) await ch.close().catch(() => {})
  }
}
