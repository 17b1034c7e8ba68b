import type { ConfirmChannel, Options } from 'amqplib'
import { BrokerUnavailableError } from '../errors.js'
import type { RabbitConnection } from './connection.js'

export interface OutgoingMessage {
  queue: string
  body: Buffer
  options: Options.Publish
}

/**
 * Publishes through the connection's confirm channel with a sliding window: at most `window`
 * messages await their confirm at any time (shared by concurrent callers), and when
 * channel.publish() returns false (the socket buffer is full) it waits for 'drain'. Every wait is
 * bounded by `timeoutMs` and cut short by the channel closing, so a publish during an outage
 * rejects instead of hanging.
 */
export class ConfirmPublisher {
  private unconfirmed = 0
  private readonly slotWaiters = new Set<() => void>()

  constructor(
    private readonly connection: RabbitConnection,
    private readonly window: number,
    private readonly timeoutMs: number,
  ) {}

  /** One boolean per message: true = confirmed (ack), false = nacked. Rejects when the link fails. */
  async publish(messages: readonly OutgoingMessage[]): Promise<boolean[]> {
    const ch = this.channel()
    const results = messages.map(() => false)
    const confirms: Promise<void>[] = []
    let failure: BrokerUnavailableError | null = null
    let onClose: () => void = () => {}
    const closed = new Promise<never>((_, reject) => {
      // Prepended, so failure is set before amqplib fails the pending confirm callbacks.
      onClose = () => {
        failure = new BrokerUnavailableError('RabbitMQ channel closed during publish')
        reject(failure)
      }
      ch.prependOnceListener('close', onClose)
    })
    closed.catch(() => {})
    const deadline = Date.now() + this.timeoutMs
    const bounded = <T>(p: Promise<T>, what: string) => this.bounded(p, closed, deadline, what)
    try {
      for (const [i, m] of messages.entries()) {
        if (failure) throw failure
        if (this.connection.blocked) await bounded(this.waitUnblocked(), 'RabbitMQ unblocked')
        while (this.unconfirmed >= this.window)
          await bounded(this.nextSlot(), 'a confirm-window slot')
        if (this.connection.link?.pub !== ch) {
          throw new BrokerUnavailableError('RabbitMQ connection lost during publish')
        }
        this.unconfirmed++
        let ok = true
        confirms.push(
          new Promise<void>((resolve) => {
            ok = ch.publish('', m.queue, m.body, m.options, (err: unknown) => {
              this.unconfirmed--
              this.slotWaiters.forEach((w) => w())
              results[i] = err == null
              resolve()
            })
          }),
        )
        if (!ok)
          await bounded(new Promise<void>((r) => ch.once('drain', r)), 'the channel to drain')
      }
      await bounded(Promise.all(confirms), 'publisher confirms')
    } finally {
      ch.off('close', onClose)
    }
    // A channel close fails the pending confirms; then none of the batch may count as confirmed.
    if (failure) throw failure
    return results
  }

  private channel(): ConfirmChannel {
    const link = this.connection.link
    if (!link || this.connection.state() !== 'up') {
      throw new BrokerUnavailableError(`RabbitMQ is ${this.connection.state()}`)
    }
    return link.pub
  }

  private nextSlot(): Promise<void> {
    return new Promise((resolve) => {
      const w = () => {
        this.slotWaiters.delete(w)
        resolve()
      }
      this.slotWaiters.add(w)
    })
  }

  private waitUnblocked(): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        this.connection.off('unblocked', done).off('down', done)
        resolve()
      }
      this.connection.on('unblocked', done).on('down', done)
    })
  }

  private async bounded<T>(
    p: Promise<T>,
    closed: Promise<never>,
    deadline: number,
    what: string,
  ): Promise<T> {
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new BrokerUnavailableError(`timed out waiting for ${what}`)),
        Math.max(0, deadline - Date.now()),
      )
    })
    try {
      return await Promise.race([p, closed, timeout])
    } finally {
      clearTimeout(timer)
    }
  }
}
