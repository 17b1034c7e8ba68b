import type { Logger } from '../log.js'
import type { Broker } from './types.js'
import { LocalBroker } from './local/broker.js'
import { resolveLocalOptions, type LocalBrokerOptions } from './local/options.js'
import { RabbitBroker } from './rabbitmq/broker.js'
import { resolveRabbitOptions, type RabbitBrokerOptions } from './rabbitmq/options.js'
import { LazySqsBroker } from './sqs/lazy.js'
import { SQS_MAX_EVENT_BYTES } from './sqs/envelope.js'
import type { SqsBrokerOptions } from './sqs/options.js'

export type * from './types.js'
export { hasLegacyDeadLetters } from './types.js'
// Not SqsBroker itself (src/brokers/sqs/broker.js): importing it loads the AWS SDK.
export { LocalBroker, RabbitBroker, LazySqsBroker }
export type { LocalBrokerOptions, RabbitBrokerOptions, SqsBrokerOptions }
export { BrokerUnavailableError, EventTooLargeError, DeliveryGoneError } from './errors.js'
export { eventBytes } from '../event.js'

/** Which adapter, with its options (SLUICE_BROKER and the variables of that broker). */
export type BrokerChoice =
  | { kind: 'local'; options: LocalBrokerOptions }
  | { kind: 'rabbitmq'; options: RabbitBrokerOptions }
  | { kind: 'sqs'; options: SqsBrokerOptions }

/** Adapter options beyond what the environment sets (tuning, tests). */
export interface BrokerOverrides {
  local?: Partial<LocalBrokerOptions>
  rabbitmq?: Partial<RabbitBrokerOptions>
  sqs?: Partial<SqsBrokerOptions>
}

/** The largest event the chosen adapter carries (for 413 at ingest), without creating it. */
export function maxEventBytesOf(choice: BrokerChoice): number {
  switch (choice.kind) {
    case 'local':
      return resolveLocalOptions(choice.options).maxEventBytes
    case 'rabbitmq':
      return resolveRabbitOptions(choice.options).maxEventBytes
    case 'sqs':
      return SQS_MAX_EVENT_BYTES
  }
}

/**
 * The adapter a choice names, not started yet. Call start() next. SQS comes as LazySqsBroker,
 * which imports the AWS SDK at its first start() or call, never for another broker.
 */
export function createBroker(choice: BrokerChoice, logger: Logger): Broker {
  const log = logger.child({ component: 'broker', broker: choice.kind })
  switch (choice.kind) {
    case 'local':
      return new LocalBroker(choice.options, log)
    case 'rabbitmq':
      return new RabbitBroker(choice.options, log)
    case 'sqs':
      return new LazySqsBroker(choice.options, log)
  }
}
