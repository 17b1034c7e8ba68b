export { Consumer, type ConsumerStatus, type FailedAttempt } from './consumer.js'
export { consumerDefaults, type ConsumerOptions } from './options.js'
export type { BatchProcessor, EventResult } from './types.js'
