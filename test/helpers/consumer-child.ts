import type pg from 'pg'
import type { Broker } from '../../src/brokers/index.js'
import type { Consumer } from '../../src/consumer/index.js'

/**
 * The life of a consumer child process (dead-letter-child, crash-loop-child): SIGTERM is a
 * graceful stop (registered before consuming, so a stop asked for at any point after that is one);
 * an `idle` line whenever it holds nothing, so the parent can stop it between batches (the
 * adapters' timers are unref'd, and the interval also keeps the child alive); `consuming` once
 * it consumes.
 */
export async function runConsumerChild(consumer: Consumer, broker: Broker, pool: pg.Pool) {
  process.on('SIGTERM', () => {
    clearInterval(keepAlive)
    void consumer
      .close()
      .then(() => broker.close())
      .then(() => pool.end())
      .then(() => process.exit(0))
  })
  const keepAlive = setInterval(() => {
    // Nothing in a batch and nothing taken from the broker waiting for one.
    if (consumer.status().inFlightBatches === 0 && consumer.oldestUnsettledAt() === null) {
      process.stdout.write(`${JSON.stringify({ idle: true })}\n`)
    }
  }, 100)
  await consumer.start()
  process.stdout.write(`${JSON.stringify({ consuming: true })}\n`)
}
