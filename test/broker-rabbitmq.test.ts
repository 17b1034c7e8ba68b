import t, { type Test } from 'tap'
import amqp, { type Channel } from 'amqplib'
import { createHash } from 'node:crypto'
import { RabbitBroker } from '../src/brokers/rabbitmq/broker.js'
import { deleteTopology, queueNames } from '../src/brokers/rabbitmq/topology.js'
import type { RabbitConnection } from '../src/brokers/rabbitmq/connection.js'
import { BrokerUnavailableError } from '../src/brokers/errors.js'
import { AMQP_URL, Inbox, makeEvent } from './helpers/broker-fixtures.js'
import { declareRabbitTopology01 } from './helpers/sluice-0.1.js'
import { until } from './helpers/wait.js'
import { failOnLeaks } from './helpers/leaks.js'

let n = 0
/**
 * A broker on a fresh queue, started; `existing` declares what is already there before it
 * starts. Teardown closes the broker, then deletes every queue Sluice declares or declared.
 */
async function withBroker(
  t: Test,
  options: Partial<ConstructorParameters<typeof RabbitBroker>[0]> = {},
  existing?: (ch: Channel, queue: string) => Promise<unknown>,
) {
  const queue = `sluice.rabbit-${process.pid}-${Date.now().toString(36)}-${++n}`
  const admin = await amqp.connect(AMQP_URL)
  if (existing) {
    const ch = await admin.createChannel()
    await existing(ch, queue)
    await ch.close()
  }
  const broker = new RabbitBroker({ url: AMQP_URL, queue, ...options })
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

t.test('a new topology: a durable quorum queue and its retry queue, no DLX or DLQ', async (t) => {
  const { admin, queue } = await withBroker(t)
  const ch = await admin.createChannel()
  ch.on('error', () => {})
  // Re-declaring with the same arguments succeeds; with other ones RabbitMQ refuses. So the main
  // queue carries no dead-letter arguments at all.
  await ch.assertQueue(queue, { durable: true, arguments: { 'x-queue-type': 'quorum' } })
  await ch.assertQueue(`${queue}.retry`, {
    durable: true,
    arguments: {
      'x-queue-type': 'quorum',
      'x-dead-letter-strategy': 'at-least-once',
      'x-overflow': 'reject-publish',
      'x-dead-letter-exchange': '',
      'x-dead-letter-routing-key': queue,
    },
  })
  t.pass('declared as documented')
  await t.rejects(ch.checkQueue(`${queue}.dlq`), { code: 404 }, 'no <queue>.dlq')
  const ch2 = await admin.createChannel()
  ch2.on('error', () => {})
  await t.rejects(ch2.checkExchange(`${queue}.dlx`), { code: 404 }, 'no <queue>.dlx')
})

t.test('a main queue declared by Sluice 0.1 is used as it is, and events flow', async (t) => {
  // start() used to fail with PRECONDITION_FAILED here once the arguments changed.
  const { broker, admin, queue } = await withBroker(t, {}, (ch, q) =>
    declareRabbitTopology01(ch, q),
  )
  t.equal(broker.state(), 'up')
  const e = makeEvent()
  t.same(await broker.publish([e]), [true])
  const inbox = await new Inbox(broker).subscribe(1)
  const first = await inbox.nth(1)
  t.same(first.event, e)
  t.equal(first.attempt, 1)
  await first.retry(0)
  const second = await inbox.nth(2)
  t.equal(second.event.id, e.id, 'the retry comes back through <queue>.retry')
  t.equal(second.attempt, 2)
  await second.ack()
  await broker.close() // what is still unacked goes back to the queue and is counted
  const ch = await admin.createChannel()
  await until('the ack reached the queue', async () => {
    const [main, dlq] = await Promise.all([ch.checkQueue(queue), ch.checkQueue(`${queue}.dlq`)])
    return main.messageCount === 0 && dlq.messageCount === 0
  })
  // The 0.1 arguments are still in place (RabbitMQ would refuse this otherwise).
  await ch.assertQueue(queue, {
    durable: true,
    arguments: {
      'x-queue-type': 'quorum',
      'x-dead-letter-exchange': `${queue}.dlx`,
      'x-dead-letter-routing-key': `${queue}.dlq`,
    },
  })
  await ch.close()
  t.pass('nothing went to the 0.1 DLQ, and the queue was not redeclared')
})

t.test("a main queue with the operator's own arguments is used as it is", async (t) => {
  // A configured type other than the queue's does not matter for a queue that exists.
  const { broker } = await withBroker(t, { queueType: 'classic' }, (ch, q) =>
    ch.assertQueue(q, {
      durable: true,
      arguments: { 'x-queue-type': 'quorum', 'x-delivery-limit': 50 },
    }),
  )
  const e = makeEvent()
  t.same(await broker.publish([e]), [true])
  const d = await (await new Inbox(broker).subscribe(1)).nth(1)
  t.same(d.event, e)
  await d.ack()
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

    // A publish parks on the connection's 'unblocked' event (the rejected one above left its
    // listener behind, so count from here).
    const parked = connection.listenerCount('unblocked')
    let settled = false
    const waiting = broker.publish([makeEvent()]).finally(() => (settled = true))
    await until(
      'the publish waits for unblocked',
      () => settled || connection.listenerCount('unblocked') > parked,
    )
    t.equal(settled, false, 'still waiting while blocked')
    connection.link!.model.emit('unblocked')
    t.same(await waiting, [true], 'published once unblocked')
  },
)

t.test('a foreign message is delivered as malformed, with its raw body', async (t) => {
  const { broker, admin, queue } = await withBroker(t)
  const ch = await admin.createConfirmChannel()
  ch.sendToQueue(queue, Buffer.from('not from sluice'), {
    messageId: 'foreign-1',
    persistent: true,
    contentType: 'text/plain',
  })
  ch.sendToQueue(queue, Buffer.from('no id either'), { persistent: true })
  await ch.waitForConfirms()
  await ch.close()
  const inbox = await new Inbox(broker).subscribe(2)
  const [a, b] = [await inbox.nth(1), await inbox.nth(2)]
  t.equal(a.event.id, 'foreign-1', 'id from messageId')
  t.equal(a.event.source, 'unknown')
  t.equal(a.event.contentType, 'text/plain')
  t.ok(a.event.body.equals(Buffer.from('not from sluice')), 'raw body kept')
  t.match(a.malformed, /^undecodable/)
  t.equal(a.attempt, 1)
  t.equal(
    b.event.id,
    `sha256:${createHash('sha256').update('no id either').digest('hex')}`,
    'without a messageId, the id is a hash of the body',
  )
  t.match(b.malformed, /^undecodable/)
  await a.ack()
  await b.ack()
  await broker.close()
  const check = await admin.createChannel()
  await until(
    'the acks removed them',
    async () => (await check.checkQueue(queue)).messageCount === 0,
  )
  await check.close()
  t.pass('acked like any delivery: the consumer decides what to do with it')
})

t.test('a Sluice message is not malformed', async (t) => {
  const { broker } = await withBroker(t)
  await broker.publish([makeEvent()])
  const d = await (await new Inbox(broker).subscribe(1)).nth(1)
  t.equal(d.malformed, undefined)
  await d.ack()
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
