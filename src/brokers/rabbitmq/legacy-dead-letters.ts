import type { LegacyDeadLetter } from '../types.js'
import { BrokerUnavailableError } from '../errors.js'
import { H, decode, rawEvent } from './codec.js'
import type { RabbitConnection } from './connection.js'
import { queueExists, type QueueNames } from './topology.js'

const ROUND = 100

/**
 * Move the dead letters Sluice 0.1 kept in `<queue>.dlq` into Postgres: get a round of them
 * unacked, hand them to `take` (which commits them), then ack them. A crash in between leaves
 * them in the queue to be taken again; `take` is keyed by the event, so nothing doubles. The
 * empty queue stays (an operator may delete it); nothing is ever published to it again.
 */
export async function drainLegacyDlq(
  connection: RabbitConnection,
  names: QueueNames,
  take: (letters: LegacyDeadLetter[]) => Promise<void>,
): Promise<number> {
  const link = connection.link
  if (!link) throw new BrokerUnavailableError(`RabbitMQ is ${connection.state()}`)
  if (!(await queueExists(link.model, names.legacyDlq))) return 0
  const ch = await link.model.createChannel()
  ch.on('error', () => {})
  let moved = 0
  try {
    for (;;) {
      const round = []
      while (round.length < ROUND) {
        const m = await ch.get(names.legacyDlq, { noAck: false })
        if (!m) break
        round.push(m)
      }
      if (round.length === 0) return moved
      await take(
        round.map((m) => {
          const h = (m.properties.headers ?? {}) as Record<string, unknown>
          const reason = text(h['x-first-death-reason'])
          const error = text(h[H.error]) ?? (reason ? `dead-lettered by RabbitMQ: ${reason}` : null)
          let event
          let malformed = false
          try {
            event = decode(m.content, m.properties)
          } catch {
            event = rawEvent(m.content, m.properties)
            malformed = true
          }
          return {
            event,
            attempts: Number(h[H.attempt] ?? 0) || 0,
            error: error ?? 'dead-lettered by Sluice 0.1',
            malformed,
          }
        }),
      )
      for (const m of round) ch.ack(m)
      moved += round.length
    }
  } finally {
    await ch.close().catch(() => {})
  }
}

/** A header value as text: amqplib hands strings over as strings or Buffers. */
const text = (v: unknown): string | null =>
  typeof v === 'string' ? v : Buffer.isBuffer(v) ? v.toString('utf8') : null
