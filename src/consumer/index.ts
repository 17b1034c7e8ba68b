export { Consumer, type ConsumerStatus } from './consumer.js'
export { consumerDefaults, type ConsumerOptions } from './options.js'
export type { BatchProcessor, EventResult } from './types.js'
