import type { BrokerChoice, BrokerOverrides } from '../brokers/index.js'
import type { Config } from '../config.js'

/** The adapter SLUICE_BROKER names, with its options from the environment plus overrides. */
export function brokerChoice(config: Config, overrides: BrokerOverrides = {}): BrokerChoice {
  switch (config.SLUICE_BROKER) {
    case 'local':
      return {
        kind: 'local',
        options: {
          dataDir: config.SLUICE_DATA_DIR,
          synchronous: config.SLUICE_JOURNAL_SYNC,
          ...overrides.local,
        },
      }
    case 'rabbitmq':
      return {
        kind: 'rabbitmq',
        options: {
          url: config.AMQP_URL,
          queue: config.SLUICE_QUEUE,
          queueType: config.SLUICE_QUEUE_TYPE,
          envelopeEvents: config.SLUICE_ENVELOPE_EVENTS,
          envelopeBytes: config.SLUICE_ENVELOPE_BYTES,
          ...overrides.rabbitmq,
        },
      }
    case 'sqs':
      // loadConfig() already refused sqs without a queue URL.
      return {
        kind: 'sqs',
        options: {
          queueUrl: config.SQS_QUEUE_URL!,
          envelopeEvents: config.SLUICE_ENVELOPE_EVENTS,
          envelopeBytes: config.SLUICE_ENVELOPE_BYTES,
          ...(config.SQS_DLQ_URL ? { dlqUrl: config.SQS_DLQ_URL } : {}),
          ...(config.AWS_ENDPOINT_URL_SQS ? { endpoint: config.AWS_ENDPOINT_URL_SQS } : {}),
          ...overrides.sqs,
        },
      }
  }
}
