import type { Broker, HeldEvents } from '../brokers/types.js'
import type { ForwarderJournal } from '../forwarder/index.js'

export interface WatermarkSources {
  readonly journal: ForwarderJournal
  readonly broker: Broker
  /** The consumer, once the database side is up. */
  readonly consumer: () => { oldestUnsettledAt(): number | null } | null
}

const holds = (b: Broker): b is Broker & HeldEvents =>
  typeof (b as Partial<HeldEvents>).oldestHeldAt === 'function'

/**
 * The ordering watermark of this node: a receipt time before which every event this node
 * received is stored in Postgres, so ordered deliveries up to it can be linked in receipt order
 * (src/db/ordering.ts). An event is in the journal until the broker confirmed it, then in the
 * broker until the consumer acked it after its commit; reading upstream first means an event
 * moving on between two reads is found in the second. With RabbitMQ or SQS, what sits in the
 * broker queue (or in another node) is not seen: such an event may be stored after a later one
 * of its key was sent (docs/outbound.md, "Ordered delivery").
 */
export async function orderingWatermark(s: WatermarkSources): Promise<number> {
  const journal = (await s.journal.forwardedThrough?.()) ?? Date.now()
  const queued = holds(s.broker) ? s.broker.oldestHeldAt() : null
  const unsettled = s.consumer()?.oldestUnsettledAt() ?? null
  return Math.min(journal, queued ?? Infinity, unsettled ?? Infinity)
}
