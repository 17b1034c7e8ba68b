import type { Channel, GetMessage } from 'amqplib'
import type { DeadLetter, DeadLetterQueue } from '../types.js'
import { BrokerUnavailableError } from '../errors.js'
import { H, cleanHeaders, decode, republishOptions } from './codec.js'
import type { RabbitConnection } from './connection.js'
import type { ConfirmPublisher } from './publisher.js'
import type { QueueNames } from './topology.js'

/**
 * Browse and redrive `<queue>.dlq`. Browsing gets messages without acking them on a private
 * channel and then closes it, which puts them all back: nothing is removed by looking.
 */
export class RabbitDeadLetters implements DeadLetterQueue {
  constructor(
    private readonly connection: RabbitConnection,
    private readonly publisher: ConfirmPublisher,
    private readonly names: QueueNames,
  ) {}

  private async withChannel<T>(fn: (ch: Channel) => Promise<T>): Promise<T> {
    const link = this.connection.link
    if (!link) throw new BrokerUnavailableError(`RabbitMQ is ${this.connection.state()}`)
    const ch = await link.model.createChannel()
    ch.on('error', () => {})
    try {
      return await fn(ch)
    } finally {
      await ch.close().catch(() => {})
    }
  }

  list(limit = 100): Promise<DeadLetter[]> {
    return this.withChannel(async (ch) => {
      const out: DeadLetter[] = []
      while (out.length < limit) {
        const m = await ch.get(this.names.dlq, { noAck: false })
        if (!m) break
        out.push(toDeadLetter(m))
      }
      return out
    })
  }

  redrive(id?: string): Promise<number> {
    return this.withChannel(async (ch) => {
      let n = 0
      for (;;) {
        const m = await ch.get(this.names.dlq, { noAck: false })
        if (!m) break
        if (id !== undefined && String(m.properties.messageId) !== id) continue
        const headers = cleanHeaders(m.properties, [H.attempt, H.error, H.deadAt])
        const [ok] = await this.publisher.publish([
          {
            queue: this.names.main,
            body: m.content,
            options: republishOptions(m.properties, headers),
          },
        ])
        if (!ok) throw new Error('RabbitMQ refused the redriven message')
        ch.ack(m)
        n++
      }
      return n
    })
  }
}

function toDeadLetter(m: GetMessage): DeadLetter {
  const h = (m.properties.headers ?? {}) as Record<string, unknown>
  const reason = h['x-first-death-reason']
  const error = h[H.error] ?? (reason ? `dead-lettered by RabbitMQ: ${String(reason)}` : null)
  const deadAt = Number(h[H.deadAt])
  return {
    event: decodeOrRaw(m),
    attempts: Number(h[H.attempt] ?? 0) || 0,
    lastError: error === null ? null : Buffer.isBuffer(error) ? error.toString() : String(error),
    deadAt: Number.isFinite(deadAt) ? deadAt : null,
  }
}

/** A foreign message in the DLQ is still listed: raw body, id from messageId. */
function decodeOrRaw(m: GetMessage): DeadLetter['event'] {
  try {
    return decode(m.content, m.properties)
  } catch {
    return {
      id: String(m.properties.messageId ?? ''),
      source: 'unknown',
      receivedAt: 0,
      contentType: String(m.properties.contentType ?? 'application/octet-stream'),
      headers: {},
      body: m.content,
      verifiedBy: null,
    }
  }
}
