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
 * channel.publish() returns false (the socket buffer is full) it waits for 'drain'. Every wait of
 * a call is bounded by one deadline (`timeoutMs`) and cut short by the channel closing, so a
 * publish during an outage rejects instead of hanging.
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
    if (!messages.length) return results
    // A box, not a local: it is set from callbacks, which TypeScript's narrowing cannot see.
    const state: { failure: BrokerUnavailableError | null } = { failure: null }
    let fail: (err: BrokerUnavailableError) => void = () => {}
    // Settles only by failing: raced against every wait of this call.
    const aborted = new Promise<never>((_, reject) => {
      fail = (err) => {
        state.failure ??= err
        reject(state.failure)
      }
    })
    aborted.catch(() => {})
    // Prepended, so failure is set before amqplib fails the pending confirm callbacks.
    const onClose = () => fail(new BrokerUnavailableError('RabbitMQ channel closed during publish'))
    ch.prependOnceListener('close', onClose)
    const timer = setTimeout(
      () => fail(new BrokerUnavailableError(`no confirms within ${this.timeoutMs} ms`)),
      this.timeoutMs,
    )
    let pending = messages.length
    let allConfirmed: () => void = () => {}
    const confirmed = new Promise<void>((resolve) => (allConfirmed = resolve))
    const until = <T>(p: Promise<T>) => Promise.race([p, aborted])
    try {
      for (const [i, m] of messages.entries()) {
        if (state.failure) throw state.failure
        if (this.connection.blocked) await until(this.waitUnblocked())
        while (this.unconfirmed >= this.window) await until(this.nextSlot())
        if (this.connection.link?.pub !== ch) {
          throw new BrokerUnavailableError('RabbitMQ connection lost during publish')
        }
        this.unconfirmed++
        const ok = ch.publish('', m.queue, m.body, m.options, (err: unknown) => {
          this.unconfirmed--
          for (const w of this.slotWaiters) w()
          results[i] = err == null
          if (--pending === 0) allConfirmed()
        })
        if (!ok) await until(new Promise<void>((r) => ch.once('drain', r)))
      }
      await until(confirmed)
    } finally {
      clearTimeout(timer)
      ch.off('close', onClose)
    }
    // A channel close fails the pending confirms; then none of the batch may count as confirmed.
    if (state.failure) throw state.failure
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
}
