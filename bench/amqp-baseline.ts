/**
 * The baseline the forwarder is measured against: a bare amqplib confirm channel publishing
 * persistent messages to a durable queue, keeping at most `window` unconfirmed, with nothing
 * else (no journal, no adapter, no reconnect logic).
 */
import { randomBytes } from 'node:crypto'
import { performance } from 'node:perf_hooks'
import amqp from 'amqplib'

export interface AmqpBaselineOptions {
  /** @defaultValue 'amqp://guest:guest@127.0.0.1:5672' */
  url?: string
  /** Queue to publish to; declared (quorum unless `queueType`), deleted afterwards unless `keep`. */
  queue: string
  /** @defaultValue 'quorum' */
  queueType?: 'quorum' | 'classic'
  /** @defaultValue 20000 */
  messages?: number
  /** @defaultValue 5120 */
  bodyBytes?: number
  /** Unconfirmed messages at most. @defaultValue 256 */
  window?: number
  /** Keep the queue (and its messages) instead of deleting it. @defaultValue false */
  keep?: boolean
}

export interface PublishRate {
  messages: number
  seconds: number
  perSecond: number
}

export async function benchBareAmqp(options: AmqpBaselineOptions): Promise<PublishRate> {
  const o = {
    url: 'amqp://guest:guest@127.0.0.1:5672',
    queueType: 'quorum',
    messages: 20_000,
    bodyBytes: 5120,
    window: 256,
    keep: false,
    ...options,
  }
  const conn = await amqp.connect(o.url)
  try {
    const ch = await conn.createConfirmChannel()
    await ch.assertQueue(o.queue, { durable: true, arguments: { 'x-queue-type': o.queueType } })
    const body = randomBytes(o.bodyBytes)
    let inflight = 0
    let wake: (() => void) | null = null
    let failed = 0
    const start = performance.now()
    for (let i = 0; i < o.messages; i++) {
      while (inflight >= o.window) await new Promise<void>((r) => (wake = r))
      inflight++
      const ok = ch.publish(
        '',
        o.queue,
        body,
        { persistent: true, messageId: `m${i}` },
        (err: unknown) => {
          if (err) failed++
          inflight--
          const w = wake
          wake = null
          w?.()
        },
      )
      if (!ok) await new Promise<void>((r) => ch.once('drain', r))
    }
    await ch.waitForConfirms()
    const seconds = (performance.now() - start) / 1000
    if (failed) throw new Error(`${failed} messages were nacked`)
    if (!o.keep) await ch.deleteQueue(o.queue)
    await ch.close()
    return { messages: o.messages, seconds, perSecond: Math.round(o.messages / seconds) }
  } finally {
    await conn.close().catch(() => {})
  }
}
