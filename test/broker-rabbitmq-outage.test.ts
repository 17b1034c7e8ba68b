import t from 'tap'
import { deleteTopology, queueNames } from '../src/brokers/rabbitmq/topology.js'
import amqp from 'amqplib'
import { TcpProxy } from './helpers/tcp-proxy.js'
import { AMQP_URL, Inbox, makeEvent } from './helpers/broker-fixtures.js'
import { RabbitBroker } from '../src/brokers/rabbitmq/broker.js'
import { BrokerUnavailableError } from '../src/brokers/errors.js'
import { sleep } from '../src/util/backoff.js'
import { failOnLeaks } from './helpers/leaks.js'

/** Poll a condition; the timeout is only a safety net against a hung test. */
async function until(what: string, cond: () => boolean, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`)
    await sleep(25)
  }
}

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
  proxy.cutLink()
  await t.rejects(inProgress, BrokerUnavailableError, 'publish in progress rejects on cut')
  await until('state is down', () => broker.state() === 'down')
  await t.rejects(
    broker.publish([makeEvent()]),
    BrokerUnavailableError,
    'publish while down rejects',
  )

  const attemptsAtCut = proxy.attempts
  await sleep(3000)
  const attempts = proxy.attempts - attemptsAtCut
  t.ok(attempts >= 1, `it keeps trying to reconnect (${attempts} attempts in 3 s)`)
  t.ok(attempts <= 15, `with back-off, not a tight loop (${attempts} attempts in 3 s)`)
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
