import t, { type Test } from 'tap'
import amqp, { type Channel } from 'amqplib'
import { createHash } from 'node:crypto'
import { RabbitBroker } from '../src/brokers/rabbitmq/broker.js'
import { deleteTopology, queueNames } from '../src/brokers/rabbitmq/topology.js'
import type { RabbitConnection } from '../src/brokers/rabbitmq/connection.js'
import { BrokerUnavailableError } from '../src/brokers/errors.js'
import { ENVELOPE_CONTENT_TYPE, encode } from '../src/brokers/rabbitmq/codec.js'
import { decodeEnvelope } from '../src/brokers/envelope/codec.js'
import type { WebhookEvent } from '../src/event.js'
import { AMQP_URL, ENVELOPE_EVENTS, Inbox, makeEvent } from './helpers/broker-fixtures.js'
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
  'a message is a persistent envelope: its header, content type, and the exact events',
  async (t) => {
    const { broker, admin, queue } = await withBroker(t)
    const e = makeEvent({ body: Buffer.from([0, 1, 2, 3]), verifiedBy: 'stripe' })
    await broker.publish([e])
    const ch = await admin.createChannel()
    const m = await ch.get(queue, { noAck: false })
    t.ok(m, 'the message is in the queue')
    if (!m) return
    t.equal(m.properties.deliveryMode, 2, 'persistent')
    t.equal(m.properties.contentType, ENVELOPE_CONTENT_TYPE)
    t.equal(m.properties.messageId, e.id, 'an envelope of one event has its id')
    t.equal(m.properties.timestamp, Math.floor(e.receivedAt / 1000))
    const h = m.properties.headers ?? {}
    t.equal(String(h['sluice-envelope']), '2', 'marked as an envelope (format version 2)')
    for (const k of ['sluice-id', 'sluice-source', 'sluice-received-at', 'sluice-headers']) {
      t.equal(h[k], undefined, `no ${k} header: the metadata is in the envelope`)
    }
    const [decoded] = decodeEnvelope(m.content)
    t.same(decodeEnvelope(m.content), [e], 'the body is an envelope of exactly that event')
    t.ok(decoded?.body.equals(e.body), 'the raw bytes survive')
    t.equal(decoded?.verifiedBy, 'stripe')

    // Several events in one publish share one message, in order.
    const events = [makeEvent(), makeEvent({ body: Buffer.from([255, 0]) }), makeEvent()]
    t.same(await broker.publish(events), [true, true, true])
    const many = await ch.get(queue, { noAck: false })
    t.ok(many, 'one message')
    if (!many) return
    t.same(decodeEnvelope(many.content), events, 'every event, byte for byte, in order')
    t.not(many.properties.messageId, events[0]!.id, 'an envelope of several has an id of its own')
    t.equal(await ch.get(queue, { noAck: false }), false, 'and nothing else')
    await ch.close()
  },
)

t.test('N events make ceil(N / envelopeEvents) messages, within envelopeBytes', async (t) => {
  const { broker, admin, queue } = await withBroker(t, { envelopeBytes: 64 * 1024 })
  const events = Array.from({ length: 2 * ENVELOPE_EVENTS + 7 }, () => makeEvent())
  // Five of 20 KiB: at most three fit 64 KiB, so they split by bytes, not by count.
  const big = Array.from({ length: 5 }, () => makeEvent({ body: Buffer.alloc(20 * 1024, 7) }))
  t.same(
    await broker.publish(events),
    events.map(() => true),
    'every event confirmed',
  )
  t.same(
    await broker.publish(big),
    big.map(() => true),
  )
  const ch = await admin.createChannel()
  const messages: WebhookEvent[][] = []
  for (let m = await ch.get(queue); m; m = await ch.get(queue)) {
    messages.push(decodeEnvelope(m.content))
  }
  t.same(
    messages.map((m) => m.length),
    [ENVELOPE_EVENTS, ENVELOPE_EVENTS, 7, 3, 2],
    `${events.length} small events in ${Math.ceil(events.length / ENVELOPE_EVENTS)} messages, then the big ones by bytes`,
  )
  t.same(messages.flat(), [...events, ...big], 'every event once, in order')
  await ch.close()
})

t.test('a message of Sluice 0.1 (one event, metadata in headers) is still consumed', async (t) => {
  const { broker, admin, queue } = await withBroker(t)
  const ch = await admin.createConfirmChannel()
  const e = makeEvent({ body: Buffer.from([0, 0xff, 0x0a]) })
  // A retry copy 0.1 left in <queue>.retry carries the attempt it is.
  const retried = makeEvent({ verifiedBy: null })
  ch.sendToQueue(queue, e.body, encode(e))
  ch.sendToQueue(queue, retried.body, encode(retried, { 'sluice-attempt': '3' }))
  await ch.waitForConfirms()
  await ch.close()
  const inbox = await new Inbox(broker).subscribe(2 * ENVELOPE_EVENTS)
  const [a, b] = [await inbox.nth(1), await inbox.nth(2)]
  t.same(a.event, e, 'the event as 0.1 published it')
  t.equal(a.malformed, undefined, 'not malformed')
  t.equal(a.attempt, 1)
  t.same(b.event, retried)
  t.equal(b.attempt, 3, 'attempt from the 0.1 sluice-attempt header')
  await a.ack()
  await b.ack()
  await broker.close()
  const check = await admin.createChannel()
  await until(
    'the acks removed them',
    async () => (await check.checkQueue(queue)).messageCount === 0,
  )
  await check.close()
})

t.test('a retried subset goes to <queue>.retry as an envelope of just those events', async (t) => {
  const { broker, admin, queue } = await withBroker(t)
  const events = Array.from({ length: 5 }, () => makeEvent())
  await broker.publish(events)
  const inbox = await new Inbox(broker).subscribe(ENVELOPE_EVENTS)
  for (let i = 1; i <= 5; i++) await inbox.nth(i)
  const [x, y, ...rest] = inbox.received
  // A long delay keeps the copy in <queue>.retry, where it can be looked at.
  await Promise.all([x!.retry(60_000), y!.retry(30_000), ...rest.map((d) => d.ack())])
  await broker.close()
  const ch = await admin.createChannel()
  await until('the original was acked', async () => (await ch.checkQueue(queue)).messageCount === 0)
  const copy = await ch.get(`${queue}.retry`)
  t.ok(copy, 'one copy in <queue>.retry')
  if (!copy) return
  t.same(decodeEnvelope(copy.content), [x!.event, y!.event], 'only the retried events')
  const h = copy.properties.headers ?? {}
  t.equal(String(h['sluice-envelope']), '2')
  t.equal(String(h['sluice-attempt']), '2', 'the attempt their next delivery is')
  t.equal(copy.properties.expiration, '60000', 'the longest of their delays')
  t.equal(copy.properties.deliveryMode, 2, 'persistent')
  t.equal(await ch.get(`${queue}.retry`), false, 'one copy, not one per event')
  await ch.close()
})

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
  // Claims to be an envelope, but its body is not one.
  ch.sendToQueue(queue, Buffer.from('SLv2 but truncated'), {
    messageId: 'bad-envelope',
    persistent: true,
    headers: { 'sluice-envelope': '2' },
  })
  await ch.waitForConfirms()
  await ch.close()
  // The channel prefetch counts messages, ceil(prefetch / envelopeEvents) of them: ask for
  // enough events that all three messages are in flight at once.
  const inbox = await new Inbox(broker).subscribe(3 * ENVELOPE_EVENTS)
  const [a, b, c] = [await inbox.nth(1), await inbox.nth(2), await inbox.nth(3)]
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
  t.equal(c.event.id, 'bad-envelope')
  t.ok(c.event.body.equals(Buffer.from('SLv2 but truncated')), 'raw body kept')
  t.match(c.malformed, /^undecodable: .*envelope/, 'a broken envelope is malformed too')
  t.equal(inbox.received.length, 3, 'one delivery per undecodable message')
  await a.ack()
  await b.ack()
  await c.ack()
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
  const events = [makeEvent(), makeEvent()]
  await broker.publish(events)
  const inbox = await new Inbox(broker).subscribe(2)
  const got = [await inbox.nth(1), await inbox.nth(2)]
  t.same(
    got.map((d) => d.malformed),
    [undefined, undefined],
  )
  t.same(
    got.map((d) => d.event),
    events,
    'each event of the envelope is its own delivery',
  )
  await Promise.all(got.map((d) => d.ack()))
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
  t.throws(
    () => new RabbitBroker({ url: AMQP_URL, queue: 'q', envelopeEvents: 0 }),
    /options.envelopeEvents/,
  )
  t.throws(
    () => new RabbitBroker({ url: AMQP_URL, queue: 'q', envelopeBytes: 1.5 }),
    /options.envelopeBytes/,
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
