import { envSchema } from '../config.js'
import { FILE_VARIABLES } from '../config-files.js'

/** The broker an engine uses; the local queue in its data directory by default. */
export type BrokerOption =
  | { type: 'local' }
  | { type: 'rabbitmq'; url: string; queue: string }
  | { type: 'sqs'; queueUrl: string; dlqUrl?: string; endpoint?: string }

export interface StartEngineOptions {
  /** PostgreSQL to store into. @defaultValue embedded Postgres in the data directory */
  databaseUrl?: string
  /** @defaultValue `{ type: 'local' }` */
  broker?: BrokerOption
  /** Any other configuration (docs/configuration.md); it wins over what the kit sets. */
  env?: Record<string, string>
  /**
   * Whether start and restart() also wait until the database is up (the admin API answers
   * its data routes instead of 503). Turn it off for a test that starts the engine while its
   * database is cut off: a 200 is durable as soon as it listens. @defaultValue true
   */
  waitForDatabase?: boolean
  /** Seconds to wait for the engine to listen, and then for its database. @defaultValue 60 */
  startTimeoutSeconds?: number
}

const CONFIG_VARIABLES = new Set<string>([
  ...Object.keys(envSchema.shape),
  ...FILE_VARIABLES.map((name) => `${name}_FILE`),
])

/** This process's environment without Sluice's configuration, so the engine gets only the test's. */
export function baseEnvironment(): NodeJS.ProcessEnv {
  return Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !CONFIG_VARIABLES.has(name)),
  )
}

export function brokerEnv(broker: BrokerOption): Record<string, string> {
  switch (broker.type) {
    case 'local':
      return { SLUICE_BROKER: 'local' }
    case 'rabbitmq':
      return { SLUICE_BROKER: 'rabbitmq', AMQP_URL: broker.url, SLUICE_QUEUE: broker.queue }
    case 'sqs':
      return {
        SLUICE_BROKER: 'sqs',
        SQS_QUEUE_URL: broker.queueUrl,
        ...(broker.dlqUrl ? { SQS_DLQ_URL: broker.dlqUrl } : {}),
        ...(broker.endpoint ? { AWS_ENDPOINT_URL_SQS: broker.endpoint } : {}),
      }
  }
}
