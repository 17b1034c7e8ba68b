import type { Channel } from 'amqplib'

export interface QueueNames {
  main: string
  retry: string
  dlq: string
  dlx: string
}

export const queueNames = (queue: string): QueueNames => ({
  main: queue,
  retry: `${queue}.retry`,
  dlq: `${queue}.dlq`,
  dlx: `${queue}.dlx`,
})

/**
 * Declare (idempotently) the main queue, its dead-letter exchange + `<queue>.dlq`, and
 * `<queue>.retry`: a queue nobody consumes, where a retried message waits out its per-message
 * expiration and is then dead-lettered back into the main queue. Caveat: expiry only happens at
 * the head of a queue, so a long delay can hold back shorter ones queued behind it.
 *
 * Arguments are fixed at first declaration (RabbitMQ refuses a re-declare with other ones), so
 * nothing configurable (like the attempt limit) goes into them.
 */
export async function declareTopology(
  ch: Channel,
  names: QueueNames,
  type: 'quorum' | 'classic',
): Promise<void> {
  const base = { 'x-queue-type': type }
  // Quorum queues dead-letter at-most-once unless told otherwise; a retry copy must not vanish.
  const safeDeadLettering =
    type === 'quorum'
      ? { 'x-dead-letter-strategy': 'at-least-once', 'x-overflow': 'reject-publish' }
      : {}
  await ch.assertExchange(names.dlx, 'direct', { durable: true })
  await ch.assertQueue(names.dlq, { durable: true, arguments: base })
  await ch.bindQueue(names.dlq, names.dlx, names.dlq)
  await ch.assertQueue(names.main, {
    durable: true,
    arguments: {
      ...base,
      'x-dead-letter-exchange': names.dlx,
      'x-dead-letter-routing-key': names.dlq,
    },
  })
  await ch.assertQueue(names.retry, {
    durable: true,
    arguments: {
      ...base,
      ...safeDeadLettering,
      'x-dead-letter-exchange': '',
      'x-dead-letter-routing-key': names.main,
    },
  })
}

/** Remove everything declareTopology created for a queue (tests, benchmarks, decommissioning). */
export async function deleteTopology(ch: Channel, names: QueueNames): Promise<void> {
  for (const q of [names.main, names.retry, names.dlq]) await ch.deleteQueue(q)
  await ch.deleteExchange(names.dlx)
}
