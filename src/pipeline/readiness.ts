import type { Broker } from '../brokers/index.js'
import type { ConsumerStatus } from '../consumer/index.js'
import { notRunning, type DispatcherHealth } from '../dispatcher/health.js'
import type { PingResult } from '../db/ping.js'
import type { ForwarderStatus } from '../forwarder/index.js'
import type { Health } from './bring-up.js'

export type Check = { ok: boolean; [k: string]: unknown }

/** A permanent problem as /readyz shows it: the error, its code, what to do, since when. */
const problemFields = (h: Health) =>
  h.problem
    ? { error: h.problem.error, code: h.problem.code, hint: h.problem.hint, since: h.problem.since }
    : {}

export function brokerCheck(broker: Broker, forwarder: ForwarderStatus, health: Health): Check {
  return {
    ok: health.ok,
    name: broker.name,
    state: broker.state(),
    forwarder: forwarder.state,
    consecutiveFailures: forwarder.consecutiveFailures,
    lastError: forwarder.lastError,
    ...problemFields(health),
  }
}

export interface DatabaseView {
  ping: PingResult | null
  consumer: ConsumerStatus | undefined
  state: 'starting' | 'migrating' | 'up' | 'down'
  embedded: boolean
  health: Health
}

export function databaseCheck(v: DatabaseView): Check {
  const up = v.ping?.ok && v.consumer?.database !== 'down'
  return {
    ok: v.health.ok,
    state: v.ping ? (up ? 'up' : 'down') : v.state,
    embedded: v.embedded,
    consuming: v.consumer !== undefined,
    // The consumer's own view: down while batches fail and the ping does not answer.
    consumer: v.consumer?.database ?? null,
    ...(v.ping?.error ? { pingError: v.ping.error } : {}),
    ...problemFields(v.health),
  }
}

/** The outbound dispatcher: its claims and result writes reach Postgres; informative too. */
export function dispatcherCheck(h: DispatcherHealth | null): Check {
  return { ...(h ?? notRunning(null)) }
}
