export {
  Consumer,
  type ConsumerDeps,
  type ConsumerStatus,
  type DeadLetterSink,
  type FailedAttempt,
  type FailureLog,
} from './consumer.js'
export type { CrashGuard } from './crash-guard.js'
export { consumerDefaults, type ConsumerOptions } from './options.js'
export { judge, processingRetry, screen, type RetrySettings, type Verdict } from './policy.js'
export { redriveDeadLetters, type RedriveResult } from './redrive.js'
export type { BatchProcessor } from './types.js'
