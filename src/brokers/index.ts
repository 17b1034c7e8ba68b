import { join } from 'node:path'
import type { Config } from '../config.js'
import type { Logger } from '../log.js'
import type { Broker } from './types.js'
import { LocalBroker } from './local/broker.js'
import type { LocalBrokerOptions } from './local/options.js'
import { RabbitBroker } from './rabbitmq/broker.js'
import type { RabbitBrokerOptions } from './rabbitmq/options.js'
import { SqsBroker } from './sqs/broker.js'
import type { SqsBrokerOptions } from './sqs/options.js'

export type * from './types.js'
export { LocalBroker, RabbitBroker, SqsBroker }
export type { LocalBrokerOptions, RabbitBrokerOptions, SqsBrokerOptions }
export { BrokerUnavailableError, EventTooLargeError, DeliveryGoneError } from './errors.js'
export { eventBytes } from './size.js'

/** Adapter options beyond what the environment sets (tuning, tests). */
export interface BrokerOverrides {
  local?: Partial<LocalBrokerOptions>
  rabbitmq?: Partial<RabbitBrokerOptions>
  sqs?: Partial<SqsBrokerOptions>
}

/** The broker SLUICE_BROKER names, configured from the environment. Call start() next. */
export function createBroker(
  config: Config,
  logger: Logger,
  overrides: BrokerOverrides = {},
): Broker {
  const log = logger.child({ component: 'broker', broker: config.SLUICE_BROKER })
  switch (config.SLUICE_BROKER) {
    case 'local':
      return new LocalBroker(
        {
          dataDir: config.SLUICE_DATA_DIR,
          maxAttempts: config.SLUICE_MAX_ATTEMPTS,
          synchronous: config.SLUICE_JOURNAL_SYNC,
          ...overrides.local,
        },
        log,
      )
    case 'rabbitmq':
      return new RabbitBroker(
        {
          url: config.AMQP_URL,
          queue: config.SLUICE_QUEUE,
          queueType: config.SLUICE_QUEUE_TYPE,
          maxAttempts: config.SLUICE_MAX_ATTEMPTS,
          ...overrides.rabbitmq,
        },
        log,
      )
    case 'sqs':
      if (!config.SQS_QUEUE_URL)
        throw new TypeError('SQS_QUEUE_URL is required when SLUICE_BROKER is sqs')
      return new SqsBroker(
        {
          queueUrl: config.SQS_QUEUE_URL,
          ...(config.SQS_DLQ_URL ? { dlqUrl: config.SQS_DLQ_URL } : {}),
          ...(config.AWS_ENDPOINT_URL_SQS ? { endpoint: config.AWS_ENDPOINT_URL_SQS } : {}),
          maxAttempts: config.SLUICE_MAX_ATTEMPTS,
          ...overrides.sqs,
        },
        log,
      )
  }
}

/** Where the local broker keeps its file (for docs and tools). */
export const localQueuePath = (config: Config) => join(config.SLUICE_DATA_DIR, 'queue.db')
