import type { Broker } from '../brokers/index.js'
import type { ConsumerStatus } from '../consumer/index.js'
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
    ...(v.ping?.error ? { pingError: v.ping.error } : {}),
    ...problemFields(v.health),
  }
}
