import t, { type Test } from 'tap'
import amqp from 'amqplib'
import { RabbitBroker } from '../src/brokers/rabbitmq/broker.js'
import { deleteTopology, queueNames } from '../src/brokers/rabbitmq/topology.js'
import type { RabbitConnection } from '../src/brokers/rabbitmq/connection.js'
import { BrokerUnavailableError } from '../src/brokers/errors.js'
import { AMQP_URL, makeEvent } from './helpers/broker-fixtures.js'
import { failOnLeaks } from './helpers/leaks.js'

let n = 0
async function withBroker(
  t: Test,
  options: Partial<ConstructorParameters<typeof RabbitBroker>[0]> = {},
) {
  const queue = `sluice.rabbit-${process.pid}-${Date.now().toString(36)}-${++n}`
  const broker = new RabbitBroker({ url: AMQP_URL, queue, ...options })
  const admin = await amqp.connect(AMQP_URL)
  t.teardown(async () => {
    await broker.close()
    const ch = await admin.createChannel()
    await deleteTopology(ch, queueNames(queue))
    await admin.close()
  })
  await broker.start()
  return { broker, admin, queue }
}

t.test(
  'messages carry the event id, metadata headers and the raw body, persistently',
  async (t) => {
    const { broker, admin, queue } = await withBroker(t)
    const e = makeEvent({ body: Buffer.from([0, 1, 2, 3]), verifiedBy: 'stripe' })
    await broker.publish([e])
    const ch = await admin.createChannel()
    const m = await ch.get(queue, { noAck: false })
    t.ok(m, 'the message is in the queue')
    if (!m) return
    t.equal(m.properties.messageId, e.id)
    t.equal(m.properties.deliveryMode, 2, 'persistent')
    t.equal(m.properties.contentType, e.contentType)
    t.ok(m.content.equals(e.body), 'body is the raw bytes')
    const h = m.properties.headers ?? {}
    t.equal(String(h['sluice-source']), e.source)
    t.equal(String(h['sluice-id']), e.id)
    t.equal(String(h['sluice-received-at']), String(e.receivedAt))
    t.equal(String(h['sluice-verified-by']), 'stripe')
    t.same(JSON.parse(String(h['sluice-headers'])), e.headers)
    await ch.close()
  },
)

t.test('the queue is a durable quorum queue with a dead-letter exchange and queue', async (t) => {
  const { admin, queue } = await withBroker(t)
  const ch = await admin.createChannel()
  ch.on('error', () => {})
  // Re-declaring with the same arguments succeeds; with other ones RabbitMQ refuses.
  await ch.assertQueue(queue, {
    durable: true,
    arguments: {
      'x-queue-type': 'quorum',
      'x-dead-letter-exchange': `${queue}.dlx`,
      'x-dead-letter-routing-key': `${queue}.dlq`,
    },
  })
  await ch.checkQueue(`${queue}.dlq`)
  await ch.checkExchange(`${queue}.dlx`)
  t.pass('declared as documented')
  await t.rejects(
    ch.assertQueue(queue, { durable: true, arguments: { 'x-queue-type': 'classic' } }),
  )
})

t.test(
  'while the connection is blocked, publish waits; past its deadline it rejects',
  async (t) => {
    const { broker } = await withBroker(t, { publishTimeoutMs: 1000 })
    const connection = (broker as unknown as { connection: RabbitConnection }).connection
    // What amqplib emits on connection.blocked (a memory or disk alarm).
    connection.link!.model.emit('blocked', 'low on memory (test)')
    t.equal(connection.blocked, true)
    await t.rejects(
      broker.publish([makeEvent()]),
      BrokerUnavailableError,
      'bounded by the deadline',
    )

    let settled = false
    const waiting = broker.publish([makeEvent()]).finally(() => (settled = true))
    await new Promise((r) => setTimeout(r, 200))
    t.equal(settled, false, 'still waiting while blocked')
    connection.link!.model.emit('unblocked')
    t.same(await waiting, [true], 'published once unblocked')
  },
)

t.test('a foreign message is dead-lettered as undecodable and still listed', async (t) => {
  const { broker, admin, queue } = await withBroker(t)
  const ch = await admin.createConfirmChannel()
  ch.sendToQueue(queue, Buffer.from('not from sluice'), {
    messageId: 'foreign-1',
    persistent: true,
  })
  await ch.waitForConfirms()
  await ch.close()
  const delivered: string[] = []
  await broker.subscribe((d) => delivered.push(d.event.id), { prefetch: 1 })
  let dead = await broker.deadLetters.list()
  for (let i = 0; dead.length === 0 && i < 600; i++) {
    await new Promise((r) => setTimeout(r, 100))
    dead = await broker.deadLetters.list()
  }
  t.equal(dead[0]?.event.id, 'foreign-1')
  t.equal(dead[0]?.event.source, 'unknown')
  t.ok(dead[0]?.event.body.equals(Buffer.from('not from sluice')), 'raw body kept')
  t.match(dead[0]?.lastError, /^undecodable/)
  t.same(delivered, [], 'never handed to the subscriber')
})

t.test('options are checked', async (t) => {
  t.throws(() => new RabbitBroker({ url: 'http://x', queue: 'q' }), /options.url/)
  t.throws(() => new RabbitBroker({ url: AMQP_URL, queue: 'bad name!' }), /options.queue/)
  t.throws(
    () => new RabbitBroker({ url: AMQP_URL, queue: 'q', confirmWindow: 0 }),
    /options.confirmWindow/,
  )
  t.throws(
    () => new RabbitBroker({ url: AMQP_URL, queue: 'q', queueType: 'stream' as 'quorum' }),
    /options.queueType/,
  )
  t.throws(
    () =>
      new RabbitBroker({ url: AMQP_URL, queue: 'q', reconnectBaseMs: 5000, reconnectMaxMs: 10 }),
    /options.reconnectMaxMs/,
  )
})

t.test('start rejects when RabbitMQ is unreachable, and close stops retrying', async (t) => {
  const broker = new RabbitBroker({
    url: 'amqp://guest:guest@127.0.0.1:1',
    queue: 'never',
    reconnectBaseMs: 50,
  })
  await t.rejects(broker.start(), /cannot connect/)
  t.equal(broker.state(), 'down')
  await t.rejects(broker.publish([makeEvent()]), BrokerUnavailableError)
  const c = broker.close()
  t.equal(broker.close(), c)
  await c
  t.equal(broker.state(), 'closed')
})

failOnLeaks(t)
