/**
 * `sluice/testing` (docs/testing.md): what Sluice's own tests use to run the engine through
 * faults, for users' tests of their own. Plain promises, no test runner assumed.
 */
export { startEngine } from './start-engine.js'
export { TestEngine } from './test-engine.js'
export type { BrokerOption, StartEngineOptions } from './engine-env.js'
export { EngineProcess } from './engine-process.js'
export { faultProxy, FaultProxy } from './fault-proxy.js'
export type { ProxyTarget } from './fault-proxy.js'
export { waitForStored, waitForDelivered } from './waits.js'
export type { WaitOptions } from './waits.js'
export { signedReceiver, webhookIdOf } from './signed-receiver.js'
export type {
  ReceivedDelivery,
  RejectedRequest,
  SignedReceiver,
  SignedReceiverOptions,
} from './signed-receiver.js'
export { post } from './post.js'
export type { PostResult } from './post.js'
export { until } from './until.js'
export { deleteRabbitQueues } from './rabbitmq.js'
