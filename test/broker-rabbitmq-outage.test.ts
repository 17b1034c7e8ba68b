import t from 'tap'
import { deleteTopology, queueNames } from '../src/brokers/rabbitmq/topology.js'
import amqp from 'amqplib'
import { TcpProxy } from './helpers/tcp-proxy.js'
import { AMQP_URL, Inbox, makeEvent } from './helpers/broker-fixtures.js'
import { RabbitBroker } from '../src/brokers/rabbitmq/broker.js'
import { BrokerUnavailableError } from '../src/brokers/errors.js'
import { failOnLeaks } from './helpers/leaks.js'
import { until } from './helpers/wait.js'

t.test('RabbitMQ outage through a TCP proxy', async (t) => {
  const queue = `sluice.outage-${process.pid}-${Date.now().toString(36)}`
  const proxy = new TcpProxy('127.0.0.1', 5672)
  const port = await proxy.start()
  const broker = new RabbitBroker({
    url: `amqp://guest:guest@127.0.0.1:${port}`,
    queue,
    reconnectBaseMs: 200,
    reconnectMaxMs: 2000,
    publishTimeoutMs: 60_000,
  })
  t.teardown(async () => {
    await broker.close()
    await proxy.close()
    const admin = await amqp.connect(AMQP_URL)
    const ch = await admin.createChannel()
    await deleteTopology(ch, queueNames(queue))
    await admin.close()
  })

  await broker.start()
  const inbox = await new Inbox(broker).subscribe(10)
  const before = makeEvent()
  t.same(await broker.publish([before]), [true])
  t.equal((await inbox.nth(1)).event.id, before.id, 'consuming before the outage')
  await inbox.received[0]!.ack()

  // A big publish in progress when the link drops rejects (it does not hang until the timeout).
  const big = Array.from({ length: 2000 }, () => makeEvent({ body: Buffer.alloc(5120, 7) }))
  const inProgress = broker.publish(big)
  proxy.cut()
  await t.rejects(inProgress, BrokerUnavailableError, 'publish in progress rejects on cut')
  await until('state is down', () => broker.state() === 'down')
  await t.rejects(
    broker.publish([makeEvent()]),
    BrokerUnavailableError,
    'publish while down rejects',
  )

  // It keeps trying, with a growing back-off rather than a tight loop: with reconnectBaseMs 200
  // the n-th retry waits at least 200·2^(n-1)/2 ms (equal jitter), so the gaps have lower bounds.
  const attemptsAtCut = proxy.attempts
  await until('four reconnect attempts', () => proxy.attempts >= attemptsAtCut + 4)
  const at = proxy.connectionsAttempted.slice(attemptsAtCut, attemptsAtCut + 4)
  const gaps = at.slice(1).map((v, i) => v - at[i]!)
  t.ok(gaps[0]! >= 195, `second retry not before 200 ms (${gaps[0]} ms)`)
  t.ok(gaps[1]! >= 395, `third retry not before 400 ms (${gaps[1]} ms)`)
  t.ok(gaps[2]! >= 795, `fourth retry not before 800 ms (${gaps[2]} ms)`)
  t.equal(broker.state(), 'down', 'still down while cut')

  proxy.restore()
  await until('state is up', () => broker.state() === 'up')
  const after = makeEvent()
  t.same(await broker.publish([after]), [true], 'publish works after restore')
  await until('the consumer resumed', () => inbox.received.some((d) => d.event.id === after.id))
  for (const d of inbox.received.slice(1)) await d.ack().catch(() => {})
  t.pass('consumer resumed after reconnect')
})

failOnLeaks(t)
