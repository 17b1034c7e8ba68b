import t from 'tap'
import { mkdtempSync, rmSync, existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  createBroker,
  LocalBroker,
  RabbitBroker,
  SqsBroker,
  localQueuePath,
} from '../src/brokers/index.js'
import { loadConfig } from '../src/config.js'
import { createLogger } from '../src/log.js'
import { failOnLeaks } from './helpers/leaks.js'

const logger = createLogger('silent')

t.test('SLUICE_BROKER picks the adapter', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-factory-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const local = createBroker(loadConfig({ SLUICE_DATA_DIR: dir }), logger)
  t.ok(local instanceof LocalBroker, 'local by default')
  await local.start()
  t.ok(existsSync(localQueuePath(loadConfig({ SLUICE_DATA_DIR: dir }))), 'queue.db in the data dir')
  await local.close()
  const rabbit = createBroker(loadConfig({ SLUICE_BROKER: 'rabbitmq' }), logger)
  t.ok(rabbit instanceof RabbitBroker)
  t.equal(rabbit.name, 'rabbitmq')
  await rabbit.close()
  const sqs = createBroker(
    loadConfig({ SLUICE_BROKER: 'sqs', SQS_QUEUE_URL: 'http://127.0.0.1:1/000000000000/q' }),
    logger,
  )
  t.ok(sqs instanceof SqsBroker)
  t.ok(sqs.features.maxEventBytes < 1048576, 'SQS carries less than 1 MiB of event')
  await sqs.close()
})

t.test('overrides reach the adapter options (and are checked)', async (t) => {
  t.throws(
    () =>
      createBroker(loadConfig({ SLUICE_BROKER: 'rabbitmq' }), logger, {
        rabbitmq: { confirmWindow: -1 },
      }),
    /options.confirmWindow/,
  )
  t.throws(() => createBroker(loadConfig({}), logger, { local: { leaseMs: 0 } }), /options.leaseMs/)
  t.throws(
    () =>
      createBroker(loadConfig({ SLUICE_BROKER: 'sqs', SQS_QUEUE_URL: 'http://h/1/q' }), logger, {
        sqs: { waitTimeSeconds: 99 },
      }),
    /options.waitTimeSeconds/,
  )
})

failOnLeaks(t)
