import type pg from 'pg'
import type { Logger } from '../log.js'
import type { EventTracer } from '../tracing/types.js'
import type { Resolver } from '../outbound/agent.js'
import type { EgressConfig } from '../outbound/egress.js'
import { DEFAULT_DELIVERY_TIMEOUT_MS } from '../outbound/attempt.js'
import type { SecretBox } from '../util/secret-box.js'
import type { OutboundPolicy } from '../outbound/ssrf.js'
import { FLOW_DEFAULTS, type FlowOptions } from '../outbound/flow-options.js'
import { DEFAULT_SCHEDULE } from './schedule.js'
import type { LeaseOffer } from './first-leases.js'

/** Connections of the dispatcher thread's pool: claims, result writes, cache poll, gauges. */
export const DISPATCHER_POOL_SIZE = 4
/** Everything the dispatcher thread opens to the database: its pool and its LISTEN. */
export const DISPATCHER_CONNECTIONS = DISPATCHER_POOL_SIZE + 1

/** Knobs that are not configuration variables (tests and the benchmark turn them). */
export interface DispatcherTuning {
  /** Lease beyond the attempt's deadline: time to record the result. @defaultValue 10000 */
  leaseMarginMs?: number
  /** Safety-net claim when nothing woke the dispatcher. @defaultValue 2000 */
  pollMs?: number
  /** Subscription cache poll (its staleness bound). @defaultValue 500 */
  subscriptionPollMs?: number
  /** Attempts in progress on this node at most, all subscriptions together. @defaultValue 1000 */
  maxInFlight?: number
  /** Deliveries per claim at most. @defaultValue 200 */
  claimBatch?: number
  /** @defaultValue FLOW_DEFAULTS (pause after 10 failures over 30 s, a probe every 30 s) */
  flow?: Partial<FlowOptions>
  /** How long close() waits for attempts in progress to end and be recorded. @defaultValue 5000 */
  closeGraceMs?: number
  /** Refresh of the due backlog gauges. @defaultValue 5000 */
  gaugeMs?: number
}

export interface DispatcherOptions extends DispatcherTuning {
  readonly pool: pg.Pool
  readonly box: SecretBox
  /** Connection string for LISTEN; null where notifications cannot reach (embedded PGlite). */
  readonly listen: string | null
  readonly policy: OutboundPolicy
  /** Seconds between attempts (SLUICE_DELIVERY_SCHEDULE). @defaultValue DEFAULT_SCHEDULE */
  readonly schedule?: readonly number[]
  /** SLUICE_DELIVERY_TIMEOUT_MS. @defaultValue 15000 */
  readonly timeoutMs?: number
  /** SLUICE_DISABLE_AFTER_HOURS; 0 never. @defaultValue 120 */
  readonly disableAfterHours?: number
  /** Name of this node in the attempt log. @defaultValue `<hostname>:<pid>` */
  readonly node?: string
  readonly logger?: Logger
  /** Makes a `sluice.deliver` span per attempt (tracing on, src/tracing). @defaultValue none */
  readonly tracer?: EventTracer
  /** How host names resolve (tests). */
  readonly resolve?: Resolver
  /**
   * The receipt time (ms since the epoch) before which this node has stored every event it
   * received: ordered deliveries are linked up to it (src/db/ordering.ts).
   * @defaultValue now (everything stored is all there is: tests storing directly)
   */
  readonly watermark?: () => Promise<number>
  /** Forward proxy, its exceptions and extra trusted CAs. @defaultValue direct, default roots */
  readonly egress?: EgressConfig
  /**
   * Where the store statement's lease offers go (src/dispatcher/first-leases.ts): null withdraws
   * the last one. @defaultValue none: first attempts are claimed like any other
   */
  readonly offerLeases?: (offer: LeaseOffer | null) => void
}

export type ResolvedOptions = Required<
  Omit<DispatcherOptions, 'logger' | 'resolve' | 'flow' | 'egress' | 'tracer' | 'offerLeases'>
> &
  Pick<DispatcherOptions, 'logger' | 'resolve' | 'egress' | 'tracer' | 'offerLeases'> & {
    flow: FlowOptions
  }

const defaults = Object.freeze({
  schedule: DEFAULT_SCHEDULE,
  timeoutMs: DEFAULT_DELIVERY_TIMEOUT_MS,
  disableAfterHours: 120,
  leaseMarginMs: 10_000,
  pollMs: 2000,
  subscriptionPollMs: 500,
  maxInFlight: 1000,
  claimBatch: 200,
  closeGraceMs: 5000,
  gaugeMs: 5000,
  watermark: () => Promise.resolve(Date.now()),
})

const POSITIVE = [
  'timeoutMs',
  'leaseMarginMs',
  'pollMs',
  'subscriptionPollMs',
  'maxInFlight',
  'claimBatch',
  'gaugeMs',
] as const

/** Defaults filled in and every value checked; throws a TypeError naming the option. */
export function resolveOptions(options: DispatcherOptions, node: string): ResolvedOptions {
  const o = { ...defaults, node, ...options }
  if (!o.pool) throw new TypeError('options.pool must be a pg.Pool')
  if (!o.box) throw new TypeError('options.box must be a SecretBox')
  for (const k of POSITIVE) {
    if (!Number.isSafeInteger(o[k]) || o[k] < 1) {
      throw new TypeError(`options.${k} must be a positive integer`)
    }
  }
  for (const k of ['disableAfterHours', 'closeGraceMs'] as const) {
    if (!Number.isSafeInteger(o[k]) || o[k] < 0) {
      throw new TypeError(`options.${k} must be a non-negative integer`)
    }
  }
  if (o.schedule.length === 0 || o.schedule.some((s) => !(s > 0))) {
    throw new TypeError('options.schedule must be a non-empty list of positive seconds')
  }
  const flow = { ...FLOW_DEFAULTS, ...options.flow }
  for (const [k, v] of Object.entries(flow)) {
    if (!Number.isSafeInteger(v) || v < 1) {
      throw new TypeError(`options.flow.${k} must be a positive integer`)
    }
  }
  return { ...o, flow }
}
