import t from 'tap'
import amqp from 'amqplib'
import { RabbitBroker } from '../src/brokers/rabbitmq/broker.js'
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

failOnLeaks(t)
