import type { WebhookEvent } from '../../event.js'
import type { Delivery } from '../types.js'
import { DeliveryGoneError } from '../errors.js'

/** What an adapter does with one broker message once all of its events are settled. */
export interface MessageSettlement {
  /** Still settleable (the channel or lease is alive)? */
  alive(): boolean
  /** Every event is done: remove the message. */
  ack(): Promise<void>
  /**
   * Some events must come back, not before delayMs, with attempt + 1: put them in a new,
   * smaller message (or the same one, when it is all of them), then remove the original.
   */
  retry(events: WebhookEvent[], delayMs: number): Promise<void>
}

/**
 * The per-event Deliveries of one message. The consumer settles each event on its own (a poison
 * event is dead-lettered and acked alone while its envelope-mates are stored); the message is
 * settled when the last of them is, in one broker operation. The last settler's promise is that
 * operation's; the others resolve at once, so envelope-mates spread over several consumer
 * batches never wait on each other. A crash before the last one only redelivers the message:
 * its stored events are found stored, its dead-lettered ones rewritten in place.
 */
export function envelopeDeliveries(
  events: readonly WebhookEvent[],
  attempt: number,
  message: MessageSettlement,
): Delivery[] {
  let open = events.length
  const retried: WebhookEvent[] = []
  let delayMs = 0
  const done = (): Promise<void> => {
    if (--open > 0) return Promise.resolve()
    return retried.length > 0 ? message.retry(retried, delayMs) : message.ack()
  }
  return events.map((event) => {
    let settled = false
    const settle = (): boolean => {
      if (settled) throw new DeliveryGoneError('delivery already settled')
      if (!message.alive()) {
        throw new DeliveryGoneError('the message can no longer be settled; it will be redelivered')
      }
      settled = true
      return true
    }
    return {
      event,
      attempt,
      ack: async () => {
        settle()
        await done()
      },
      retry: async (ms: number) => {
        settle()
        retried.push(event)
        delayMs = Math.max(delayMs, ms)
        await done()
      },
    }
  })
}
