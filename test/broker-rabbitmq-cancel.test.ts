import t from 'tap'
import amqp from 'amqplib'
import { RabbitBroker } from '../src/brokers/rabbitmq/broker.js'
import { RabbitConnection } from '../src/brokers/rabbitmq/connection.js'
import { RabbitConsumer } from '../src/brokers/rabbitmq/consumer.js'
import { ConfirmPublisher } from '../src/brokers/rabbitmq/publisher.js'
import { deleteTopology, queueNames } from '../src/brokers/rabbitmq/topology.js'
import { AMQP_URL, Inbox, makeEvent } from './helpers/broker-fixtures.js'
import { failOnLeaks } from './helpers/leaks.js'
import { until } from './helpers/wait.js'

/**
 * RabbitMQ cancels a consumer when its queue goes away (deleted, or on a cluster the node holding
 * a queue's replica is lost); amqplib then calls the consume callback with null. The consumer
 * must come back on its own rather than stay connected and never consume again.
 */
t.test('a consumer cancelled by the broker reconnects and consumes again', async (t) => {
  const queue = `sluice.cancel-${process.pid}-${Date.now().toString(36)}`
  const broker = new RabbitBroker({ url: AMQP_URL, queue, reconnectBaseMs: 100 })
  const admin = await amqp.connect(AMQP_URL)
  t.teardown(async () => {
    await broker.close()
    await deleteTopology(await admin.createChannel(), queueNames(queue))
    await admin.close()
  })
  await broker.start()
  const inbox = await new Inbox(broker).subscribe(10)
  const before = makeEvent()
  t.same(await broker.publish([before]), [true])
  await until('consumed before', () => inbox.received.length >= 1)
  await inbox.received[0]!.ack()

  const ch = await admin.createChannel()
  await ch.deleteQueue(queue) // the broker cancels Sluice's consumer
  await ch.close()
  // The reconnect declares the queue again and subscribes to it.
  const after = makeEvent()
  await until(
    'a publish after the cancel is consumed',
    async () => {
      if (broker.state() === 'up') await broker.publish([after]).catch(() => [false])
      return inbox.received.some((d) => d.event.id === after.id)
    },
    60_000,
    500,
  )
  t.pass('consuming again after the cancel')
  for (const d of inbox.received.slice(1)) await d.ack().catch(() => {})
})

/**
 * A queue deleted again after every connect: each link is cancelled (or refused its consume)
 * moments after it came up. The back-off must keep growing across these short-lived links; it
 * was reset on every successful connect, so the cycle repeated at the base delay forever.
 */
t.test(
  'a link cancelled right after each connect backs off further each time; a stable one resets it',
  async (t) => {
    const queue = `sluice.cancel-loop-${process.pid}-${Date.now().toString(36)}`
    const names = queueNames(queue)
    const connection = new RabbitConnection({
      urls: [AMQP_URL],
      names,
      queueType: 'quorum',
      reconnectBaseMs: 100,
      // Far longer than the short-lived links of this test stay up (milliseconds), so none of
      // them counts as stable; the last one is kept up past it on purpose.
      reconnectMaxMs: 2000,
      connectTimeoutMs: 10_000,
      heartbeatSeconds: 10,
      permanentRetryMs: 1000,
    })
    const publisher = new ConfirmPublisher(connection, 16, 30_000)
    const consumer = new RabbitConsumer(connection, publisher, { names, prefetch: 1 }, () => {})
    const admin = await amqp.connect(AMQP_URL)
    const ch = await admin.createChannel()
    const CYCLES = 4
    // The back-off step at each 'up' (private: it is what decides the next delay).
    const steps: number[] = []
    const stepOf = () => (connection as unknown as { failures: number }).failures
    connection.on('up', () => {
      steps.push(stepOf())
      if (steps.length <= CYCLES) void ch.deleteQueue(queue).catch(() => {})
    })
    t.teardown(async () => {
      await consumer.close()
      await connection.close()
      await deleteTopology(ch, names)
      await admin.close()
    })
    await connection.start()
    await consumer.start()
    await until('every cycle reconnected', () => steps.length > CYCLES, 60_000)
    t.comment(`back-off step at each connect: ${steps.join(', ')}`)
    t.ok(
      steps.at(-1)! >= CYCLES,
      `the step grew with each short-lived link (${steps.join(', ')}), not reset to 0`,
    )
    // A link that stayed up for reconnectMaxMs was stable: its loss starts the back-off afresh
    // (step 0, so the next connect shows 1). The wait is the condition, not a measurement.
    await new Promise((r) => setTimeout(r, 3000))
    const before = steps.length
    await ch.deleteQueue(queue)
    await until('reconnected after the stable link', () => steps.length > before, 60_000)
    t.equal(steps.at(-1), 1, 'after a stable link the back-off starts again from the base')
  },
)

failOnLeaks(t)
