import t from 'tap'
import amqp from 'amqplib'
import { mkdtempSync, rmSync, existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  createBroker,
  LocalBroker,
  RabbitBroker,
  LazySqsBroker,
  type BrokerOverrides,
} from '../src/brokers/index.js'
import { deleteTopology, queueNames } from '../src/brokers/rabbitmq/topology.js'
import { brokerChoice } from '../src/pipeline/broker-choice.js'
import { loadConfig } from '../src/config.js'
import { createLogger } from '../src/log.js'
import { AMQP_URL } from './helpers/broker-fixtures.js'
import { failOnLeaks } from './helpers/leaks.js'

const logger = createLogger('silent')

/** What the engine does: the environment, validated, then the adapter it names. */
const fromEnv = (env: NodeJS.ProcessEnv, overrides?: BrokerOverrides) =>
  createBroker(brokerChoice(loadConfig(env), overrides), logger)

/** What SLUICE_ENVELOPE_EVENTS and SLUICE_ENVELOPE_BYTES default to. */
const ENVELOPE_DEFAULTS = { envelopeEvents: 50, envelopeBytes: 1_048_576 }

t.test('SLUICE_BROKER unset: the local adapter, in SLUICE_DATA_DIR', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-factory-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  t.same(brokerChoice(loadConfig({ SLUICE_DATA_DIR: dir, SLUICE_JOURNAL_SYNC: 'normal' })), {
    kind: 'local',
    options: { dataDir: dir, synchronous: 'normal' },
  })
  const local = fromEnv({ SLUICE_DATA_DIR: dir })
  t.ok(local instanceof LocalBroker, 'local by default')
  t.equal(local.name, 'local')
  await local.start()
  t.ok(existsSync(join(dir, 'queue.db')), 'queue.db in the data dir')
  await local.close()
})

t.test('SLUICE_BROKER=rabbitmq: AMQP_URL, SLUICE_QUEUE and SLUICE_QUEUE_TYPE', async (t) => {
  const queue = `sluice.factory-${process.pid}-${Date.now().toString(36)}`
  const env = {
    SLUICE_BROKER: 'rabbitmq',
    AMQP_URL,
    SLUICE_QUEUE: queue,
    SLUICE_QUEUE_TYPE: 'classic',
  }
  t.same(brokerChoice(loadConfig(env)), {
    kind: 'rabbitmq',
    options: { url: AMQP_URL, queue, queueType: 'classic', ...ENVELOPE_DEFAULTS },
  })
  t.match(
    brokerChoice(
      loadConfig({ ...env, SLUICE_ENVELOPE_EVENTS: '10', SLUICE_ENVELOPE_BYTES: '65536' }),
    ),
    { options: { envelopeEvents: 10, envelopeBytes: 65536 } },
    'SLUICE_ENVELOPE_EVENTS and SLUICE_ENVELOPE_BYTES reach the adapter',
  )
  const rabbit = fromEnv(env)
  const admin = await amqp.connect(AMQP_URL)
  t.teardown(async () => {
    await rabbit.close()
    const ch = await admin.createChannel()
    await deleteTopology(ch, queueNames(queue))
    await admin.close()
  })
  t.ok(rabbit instanceof RabbitBroker)
  t.equal(rabbit.name, 'rabbitmq')
  await rabbit.start()
  const ch = await admin.createChannel()
  ch.on('error', () => {})
  await ch.checkQueue(queue)
  // Re-declaring a queue with another type fails: the one created is classic, as configured.
  await ch.assertQueue(queue, { durable: true, arguments: { 'x-queue-type': 'classic' } })
  await ch.close()
  t.pass('the queue SLUICE_QUEUE names exists, of type SLUICE_QUEUE_TYPE')
})

t.test('SLUICE_BROKER=sqs: SQS_QUEUE_URL, SQS_DLQ_URL and AWS_ENDPOINT_URL_SQS', async (t) => {
  const queueUrl = 'http://127.0.0.1:1/000000000000/q'
  t.same(brokerChoice(loadConfig({ SLUICE_BROKER: 'sqs', SQS_QUEUE_URL: queueUrl })), {
    kind: 'sqs',
    options: { queueUrl, ...ENVELOPE_DEFAULTS },
  })
  const env = {
    SLUICE_BROKER: 'sqs',
    SQS_QUEUE_URL: queueUrl,
    SQS_DLQ_URL: 'http://127.0.0.1:1/000000000000/q-dlq',
    AWS_ENDPOINT_URL_SQS: 'http://127.0.0.1:1',
  }
  t.same(brokerChoice(loadConfig(env)), {
    kind: 'sqs',
    options: {
      queueUrl,
      ...ENVELOPE_DEFAULTS,
      dlqUrl: 'http://127.0.0.1:1/000000000000/q-dlq',
      endpoint: 'http://127.0.0.1:1',
    },
  })
  const sqs = fromEnv(env)
  t.ok(sqs instanceof LazySqsBroker)
  t.equal(sqs.name, 'sqs')
  t.ok(sqs.features.maxEventBytes < 1048576, 'SQS carries less than 1 MiB of event')
  await sqs.close()
})

t.test('overrides reach the adapter options, for the chosen adapter only', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-factory-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const overrides: BrokerOverrides = {
    local: { maxEventBytes: 1234, leaseMs: 500 },
    rabbitmq: { maxEventBytes: 4321 },
    sqs: { waitTimeSeconds: 1 },
  }
  const local = brokerChoice(loadConfig({ SLUICE_DATA_DIR: dir }), overrides)
  t.same(local, {
    kind: 'local',
    options: { dataDir: dir, synchronous: 'full', maxEventBytes: 1234, leaseMs: 500 },
  })
  const l = createBroker(local, logger)
  t.equal(l.features.maxEventBytes, 1234, 'the local adapter got its override')
  await l.close()
  const r = fromEnv({ SLUICE_BROKER: 'rabbitmq' }, overrides)
  t.equal(r.features.maxEventBytes, 4321, 'the RabbitMQ adapter got its override')
  await r.close()
  const s = brokerChoice(
    loadConfig({ SLUICE_BROKER: 'sqs', SQS_QUEUE_URL: 'http://h/1/q' }),
    overrides,
  )
  t.same(s.options, { queueUrl: 'http://h/1/q', ...ENVELOPE_DEFAULTS, waitTimeSeconds: 1 })
  // An override wins over the environment.
  const q = brokerChoice(loadConfig({ SLUICE_BROKER: 'rabbitmq', SLUICE_QUEUE: 'from-env' }), {
    rabbitmq: { queue: 'from-override' },
  })
  t.equal(q.kind === 'rabbitmq' && q.options.queue, 'from-override')
})

t.test('an invalid override throws the TypeError naming the option', async (t) => {
  t.throws(() => fromEnv({ SLUICE_BROKER: 'rabbitmq' }, { rabbitmq: { confirmWindow: -1 } }), {
    name: 'TypeError',
    message: /options\.confirmWindow must be a positive integer/,
  })
  t.throws(() => fromEnv({ SLUICE_DATA_DIR: '/tmp/x' }, { local: { leaseMs: 0 } }), {
    name: 'TypeError',
    message: /options\.leaseMs must be a positive integer/,
  })
  t.throws(
    () =>
      fromEnv(
        { SLUICE_BROKER: 'sqs', SQS_QUEUE_URL: 'http://h/1/q' },
        { sqs: { waitTimeSeconds: 99 } },
      ),
    { name: 'TypeError', message: /options\.waitTimeSeconds must be an integer from 0 to 20/ },
  )
})

failOnLeaks(t)
