import type { Channel, ChannelModel } from 'amqplib'

export interface QueueNames {
  main: string
  retry: string
  /** Where Sluice 0.1 kept dead letters; only read to move them into Postgres. */
  legacyDlq: string
  legacyDlx: string
}

export const queueNames = (queue: string): QueueNames => ({
  main: queue,
  retry: `${queue}.retry`,
  legacyDlq: `${queue}.dlq`,
  legacyDlx: `${queue}.dlx`,
})

/** Whether a queue exists, asked on a throwaway channel (a 404 closes the channel it is asked on). */
export async function queueExists(model: ChannelModel, queue: string): Promise<boolean> {
  const ch = await model.createChannel()
  ch.on('error', () => {})
  try {
    await ch.checkQueue(queue)
    return true
  } catch (err) {
    if ((err as { code?: number }).code === 404) return false
    throw err
  } finally {
    await ch.close().catch(() => {})
  }
}

/**
 * Declare (idempotently) the main queue and `<queue>.retry`: a queue nobody consumes, where a
 * retried message waits out its per-message expiration and is then dead-lettered back into the
 * main queue. Caveat: expiry only happens at the head of a queue, so a long delay can hold back
 * shorter ones queued behind it.
 *
 * A main queue that exists already is used as it is, whatever its arguments: one declared by
 * Sluice 0.1 (with a dead-letter exchange) or by the operator (with their own DLX or delivery
 * limit, the broker's crash-loop guard). Redeclaring it with other arguments would fail with
 * PRECONDITION_FAILED.
 */
export async function declareTopology(
  model: ChannelModel,
  ch: Channel,
  names: QueueNames,
  type: 'quorum' | 'classic',
): Promise<void> {
  const base = { 'x-queue-type': type }
  if (!(await queueExists(model, names.main))) {
    await ch.assertQueue(names.main, { durable: true, arguments: base })
  }
  // Quorum queues dead-letter at-most-once unless told otherwise; a retry copy must not vanish.
  const safeDeadLettering =
    type === 'quorum'
      ? { 'x-dead-letter-strategy': 'at-least-once', 'x-overflow': 'reject-publish' }
      : {}
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

/** Remove every queue Sluice declares or declared for a queue (tests, benchmarks, decommissioning). */
export async function deleteTopology(ch: Channel, names: QueueNames): Promise<void> {
  for (const q of [names.main, names.retry, names.legacyDlq]) await ch.deleteQueue(q)
  await ch.deleteExchange(names.legacyDlx)
}
