import t from 'tap'
import amqp from 'amqplib'
import { CreateQueueCommand, DeleteQueueCommand } from '@aws-sdk/client-sqs'
import { RabbitBroker } from '../src/brokers/rabbitmq/broker.js'
import { deleteTopology, queueNames } from '../src/brokers/rabbitmq/topology.js'
import { SqsBroker } from '../src/brokers/sqs/broker.js'
import { PermanentError } from '../src/permanent-error.js'
import { AMQP_URL, makeEvent } from './helpers/broker-fixtures.js'
import { startFakeSqs } from './helpers/fauxqs.js'
import { until } from './helpers/wait.js'
import { failOnLeaks } from './helpers/leaks.js'

/**
 * Failures that retrying cannot fix reject start() with a PermanentError carrying a stable code
 * (the pipeline shows it in /readyz and retries slowly instead of backing off); once an operator
 * fixed the cause, the broker comes up without a restart.
 */

const withUrl = (url: string, change: (u: URL) => void) => {
  const u = new URL(url)
  change(u)
  return u.toString()
}

let n = 0
const uniqueQueue = () => `sluice.permanent-${process.pid}-${Date.now().toString(36)}-${++n}`

t.test('rabbitmq: a wrong password is broker_access_denied', async (t) => {
  const broker = new RabbitBroker({
    url: withUrl(AMQP_URL, (u) => (u.password = 'not-the-password')),
    queue: uniqueQueue(),
  })
  t.teardown(() => broker.close())
  const err = await broker.start().then(
    () => null,
    (e: unknown) => e,
  )
  t.ok(err instanceof PermanentError, 'a PermanentError')
  t.match(err, { code: 'broker_access_denied', retryable: true, hint: /AMQP_URL/ })
  t.equal(broker.state(), 'down')
})

t.test('rabbitmq: a vhost that does not exist is broker_access_denied', async (t) => {
  const broker = new RabbitBroker({
    url: withUrl(AMQP_URL, (u) => (u.pathname = `/no-such-vhost-${process.pid}`)),
    queue: uniqueQueue(),
  })
  t.teardown(() => broker.close())
  await t.rejects(broker.start(), { name: 'PermanentError', code: 'broker_access_denied' })
})

t.test(
  'rabbitmq: a retry queue declared with other arguments is broker_misconfigured, until fixed',
  async (t) => {
    const queue = uniqueQueue()
    const admin = await amqp.connect(AMQP_URL)
    const ch = await admin.createChannel()
    await ch.assertQueue(`${queue}.retry`, {
      durable: true,
      arguments: { 'x-queue-type': 'classic' },
    })
    const broker = new RabbitBroker({ url: AMQP_URL, queue, permanentRetryMs: 200 })
    t.teardown(async () => {
      await broker.close()
      await deleteTopology(ch, queueNames(queue))
      await admin.close()
    })
    const err = await broker.start().then(
      () => null,
      (e: unknown) => e,
    )
    t.ok(err instanceof PermanentError, 'a PermanentError')
    t.match(err, { code: 'broker_misconfigured', message: /PRECONDITION_FAILED/ })
    // The operator removes the conflicting queue; the broker keeps trying and comes up.
    await ch.deleteQueue(`${queue}.retry`)
    await until('the broker is up', () => broker.state() === 'up')
    t.same(await broker.publish([makeEvent()]), [true], 'and works')
  },
)

t.test('sqs: a queue URL that does not exist is broker_queue_missing, until created', async (t) => {
  const sqs = await startFakeSqs()
  t.teardown(() => sqs.close())
  // A URL of the emulator's own form, for a queue that is not there yet.
  const probe = await sqs.client.send(new CreateQueueCommand({ QueueName: `probe-${process.pid}` }))
  const name = `missing-${process.pid}-${Date.now().toString(36)}`
  const queueUrl = withUrl(probe.QueueUrl!, (u) => {
    u.pathname = u.pathname.replace(/[^/]+$/, name)
  })
  const broker = new SqsBroker({ queueUrl, client: sqs.client, waitTimeSeconds: 1 })
  t.teardown(() => broker.close())

  const err = await broker.start().then(
    () => null,
    (e: unknown) => e,
  )
  t.ok(err instanceof PermanentError, 'a PermanentError')
  t.match(err, { code: 'broker_queue_missing', message: new RegExp(name), hint: /SQS_QUEUE_URL/ })
  t.equal(broker.state(), 'down')

  const created = await sqs.client.send(new CreateQueueCommand({ QueueName: name }))
  t.equal(created.QueueUrl, queueUrl, 'the queue the URL names now exists')
  await broker.start()
  t.equal(broker.state(), 'up', 'a later start succeeds')
  t.same(await broker.publish([makeEvent()]), [true])

  // Deleted while running: publishing says so with the same code.
  await sqs.client.send(new DeleteQueueCommand({ QueueUrl: queueUrl }))
  await t.rejects(broker.publish([makeEvent()]), {
    name: 'PermanentError',
    code: 'broker_queue_missing',
  })
})

failOnLeaks(t)
