import t, { type Test } from 'tap'
import amqp from 'amqplib'
import { RabbitConnection } from '../src/brokers/rabbitmq/connection.js'
import { RabbitConsumer } from '../src/brokers/rabbitmq/consumer.js'
import { ConfirmPublisher } from '../src/brokers/rabbitmq/publisher.js'
import { encodeMessage } from '../src/brokers/rabbitmq/codec.js'
import { deleteTopology, queueNames } from '../src/brokers/rabbitmq/topology.js'
import type { Delivery } from '../src/brokers/types.js'
import { AMQP_URL, makeEvent } from './helpers/broker-fixtures.js'
import { failOnLeaks } from './helpers/leaks.js'
import { until } from './helpers/wait.js'

const MESSAGES = 6
const PREFETCH = 2

/**
 * The consumer on a fresh main queue whose retry copies go to `full`: a queue of this test's
 * declared with x-max-length 0 and x-overflow reject-publish, so RabbitMQ nacks every copy, as
 * it does for a `<queue>.retry` an operator's policy bounds. (Sluice declares `<queue>.retry`
 * itself with fixed arguments, so the consumer is pointed at another queue instead.)
 */
async function refusingRetryQueue(
  t: Test,
  queueType: 'quorum' | 'classic',
  settle: (d: Delivery) => Promise<void> = (d) => (d.attempt === 1 ? d.retry(10) : d.ack()),
) {
  const queue = `sluice.retry-refused-${process.pid}-${Date.now().toString(36)}-${queueType}`
  const names = queueNames(queue)
  const full = `${queue}.full`
  const admin = await amqp.connect(AMQP_URL)
  const setup = await admin.createChannel()
  await setup.assertQueue(full, {
    durable: true,
    arguments: { 'x-queue-type': queueType, 'x-max-length': 0, 'x-overflow': 'reject-publish' },
  })
  await setup.close()
  // A quorum queue's length limit is soft: it starts refusing once it holds more than the
  // limit, so it is filled past it first (and a classic one alike, for the same test).
  const fill = await admin.createConfirmChannel()
  for (let i = 0; i < 2; i++) fill.sendToQueue(full, Buffer.from('filler'))
  await fill.waitForConfirms().catch(() => {})
  await fill.close()
  const connection = new RabbitConnection({
    urls: [AMQP_URL],
    names,
    queueType,
    reconnectBaseMs: 100,
    reconnectMaxMs: 1000,
    connectTimeoutMs: 10_000,
    heartbeatSeconds: 10,
    permanentRetryMs: 1000,
  })
  const publisher = new ConfirmPublisher(connection, 16, 30_000)
  await connection.start()
  const deliveries: Delivery[] = []
  const settled: string[] = []
  const errors: string[] = []
  // By default each event asks for a retry on its first delivery and is acked on any later one.
  const consumer = new RabbitConsumer(
    connection,
    publisher,
    { names: { ...names, retry: full }, prefetch: PREFETCH },
    (d) => {
      deliveries.push(d)
      settle(d).then(
        () => settled.push(`${d.event.id}@${d.attempt}`),
        (err: Error) => errors.push(err.message),
      )
    },
  )
  t.teardown(async () => {
    await consumer.close()
    await connection.close()
    const ch = await admin.createChannel()
    await deleteTopology(ch, names)
    await ch.deleteQueue(full)
    await admin.close()
  })
  return { connection, publisher, consumer, names, admin, deliveries, settled, errors }
}

for (const queueType of ['quorum', 'classic'] as const) {
  t.test(
    `${queueType}: a refused retry copy returns the original, so consumption goes on`,
    async (t) => {
      const r = await refusingRetryQueue(t, queueType)
      const events = Array.from({ length: MESSAGES }, () => makeEvent())
      const confirmed = await r.publisher.publish(
        events.map((e) => ({ queue: r.names.main, ...encodeMessage([e]) })),
      )
      t.same(confirmed, Array(MESSAGES).fill(true), 'one message per event, all in the queue')
      await r.consumer.start()
      // Every message is refused its retry copy once. Before the fix each such message stayed
      // unacked on the live channel, so after PREFETCH of them nothing more was delivered.
      const ids = () => new Set(r.deliveries.map((d) => d.event.id))
      // The timeout is a safety net only: with the fix this takes a few round trips.
      await until(
        'every message is delivered and finally acked',
        () => ids().size === MESSAGES && r.settled.length === MESSAGES,
        30_000,
      ).catch((err: Error) => {
        throw new Error(
          `${err.message}: consumption stopped at ${ids().size} of ${MESSAGES} messages ` +
            `delivered, ${r.settled.length} acked, ${r.errors.length} refused retries`,
        )
      })
      t.equal(r.errors.length, MESSAGES, 'each first delivery was refused its retry copy')
      t.match(r.errors[0], /refused the copy .* back to the queue after the retry delay/)
      for (const e of events) {
        const mine = r.deliveries.filter((d) => d.event.id === e.id).map((d) => d.attempt)
        t.equal(mine[0], 1, `${e.id}: first delivery is attempt 1`)
        // The returned original comes back as the next attempt: the refused retry is not free.
        t.equal(mine[1], 2, `${e.id}: its redelivery is attempt 2`)
      }
      // Nothing left behind: the queue is empty once the consumer's channel is gone.
      await r.consumer.close()
      const ch = await r.admin.createChannel()
      t.equal((await ch.checkQueue(r.names.main)).messageCount, 0, 'every message was acked')
      await ch.close()
    },
  )
}

const DELAY_MS = 1000
const WINDOW_MS = 2000

for (const queueType of ['quorum', 'classic'] as const) {
  t.test(
    `${queueType}: a refused retry copy gives the original back only after the retry delay`,
    async (t) => {
      // One event that fails on every delivery and asks for a retry in DELAY_MS each time.
      const r = await refusingRetryQueue(t, queueType, (d) => d.retry(DELAY_MS))
      const event = makeEvent()
      await r.publisher.publish([{ queue: r.names.main, ...encodeMessage([event]) }])
      await r.consumer.start()
      await until('the first delivery', () => r.deliveries.length > 0, 30_000)
      // Count deliveries over a window of WINDOW_MS. Giving the original back at once (the old
      // code) cycles it as fast as the broker can: tens to hundreds of deliveries on classic
      // queues, every attempt burnt on quorum ones. Giving it back after the delay allows about
      // WINDOW_MS / DELAY_MS + 1; the bound below is a count with room for a loaded machine.
      await new Promise((res) => setTimeout(res, WINDOW_MS))
      const seen = r.deliveries.length
      t.comment(`${queueType}: ${seen} deliveries in ${WINDOW_MS} ms with a ${DELAY_MS} ms delay`)
      t.ok(seen <= 5, `at most 5 deliveries in the window (saw ${seen})`)
      t.ok(r.errors.length >= 1, 'the retry copy was refused')
      t.ok(
        r.deliveries.every((d) => d.event.id === event.id),
        'only the one event was delivered',
      )
    },
  )
}

failOnLeaks(t)
