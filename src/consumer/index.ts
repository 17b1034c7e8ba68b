export { Consumer, type ConsumerStatus, type FailedAttempt, type FailureLog } from './consumer.js'
export { consumerDefaults, type ConsumerOptions } from './options.js'
export type { BatchProcessor, EventResult } from './types.js'
