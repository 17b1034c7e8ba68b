import amqp from 'amqplib'
import { deleteTopology, queueNames } from '../brokers/rabbitmq/topology.js'

/**
 * Delete every queue the engine declares for `queue` (SLUICE_QUEUE): the main one and its
 * retry queue (and Sluice 0.1's dead-letter pair), so a test leaves its broker as it found it.
 */
export async function deleteRabbitQueues(url: string, queue: string): Promise<void> {
  const conn = await amqp.connect(url)
  try {
    const ch = await conn.createChannel()
    await deleteTopology(ch, queueNames(queue))
    await ch.close()
  } finally {
    await conn.close()
  }
}
