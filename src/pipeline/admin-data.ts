import type pg from 'pg'
import type { AdminData } from '../model/admin-data.js'
import { redriveDeadLetters } from '../consumer/redrive.js'
import type { BatchProcessor } from '../consumer/types.js'
import { deadLetterItem, listDeadLetters } from '../db/dead-letters.js'
import { getEvent, listEvents } from '../db/events.js'
import { SluiceError } from '../errors.js'
import { eventsProcessed } from '../metrics.js'
import {
  deleteSubscription,
  getSubscription,
  listSubscriptions,
  patchSubscription,
  rotateSecret,
  upsertSubscription,
} from '../db/subscriptions.js'
import type { SecretBox } from '../util/secret-box.js'
import type { Subscription } from '../db/subscriptions.js'
import {
  deliveriesOfEvent,
  getDelivery,
  listDeliveries,
  retryDelivery,
} from '../db/delivery-queries.js'
import { replay } from '../db/replay.js'
import type { LaneView } from '../dispatcher/lanes.js'
import { outboundCounts, type OutboundCounts } from '../dispatcher/outbound-counts.js'
import { withHealth } from './subscription-health.js'

/** The pool and the workers' processing step, once the database side of the pipeline is up. */
export interface DatabaseSide {
  pool: pg.Pool
  processor: BatchProcessor
}

/** How subscription secrets are sealed at rest and made when none is given. */
export interface SecretTools {
  box: () => SecretBox
  generate: () => string
}

/** What the admin API asks of this node's dispatcher thread. */
export interface DispatcherControl {
  lanes(): Promise<LaneView[]>
  /** Deliveries this node's dispatcher thread made and failed since it started, its backlog. */
  outbound(): Promise<OutboundCounts>
  /** A delivery was made due now. */
  wake(): void
  /** A subscription exists now: the dispatcher thread must run (it starts with the first one). */
  subscribed(): void
}

/** AdminData over the pipeline's own database pool and worker pool (runs in its thread). */
export function pipelineAdminData(
  side: () => DatabaseSide | null,
  secrets: SecretTools,
  dispatcher: DispatcherControl,
): AdminData {
  const up = (): DatabaseSide => {
    const s = side()
    if (!s) throw new SluiceError('pipeline_unavailable')
    return s
  }
  const healthOf = (subs: Subscription[]) => withHealth(up().pool, () => dispatcher.lanes(), subs)
  return {
    listEvents: (q) => listEvents(up().pool, q),
    async getEvent({ source, id }) {
      const pool = up().pool
      const event = await getEvent(pool, source, id)
      return event && { ...event, deliveries: await deliveriesOfEvent(pool, source, id) }
    },
    async listDeadLetters(q) {
      const letters = await listDeadLetters(up().pool, {
        limit: q.limit,
        ...(q.source !== undefined ? { keys: [{ source: q.source }] } : {}),
        ...(q.after ? { after: { ...q.after, lastFailedAt: new Date(q.after.lastFailedAt) } } : {}),
      })
      return letters.map(deadLetterItem)
    },
    async countDeadLetters() {
      const { rows } = await up().pool.query<{ n: string }>(
        'SELECT count(*) AS n FROM dead_letters',
      )
      return Number(rows[0]?.n ?? 0)
    },
    async redrive(keys) {
      const s = up()
      const r = await redriveDeadLetters(s.pool, s.processor, keys)
      return { count: r.redriven, failed: r.failed }
    },
    async upsertSubscription(input) {
      const made = await upsertSubscription(up().pool, secrets.box(), input, secrets.generate)
      dispatcher.subscribed()
      return made
    },
    async getSubscription(id) {
      const s = await getSubscription(up().pool, id)
      return s && (await healthOf([s]))[0]!
    },
    listSubscriptions: async (q) => healthOf(await listSubscriptions(up().pool, q)),
    async patchSubscription(id, patch) {
      const s = await patchSubscription(up().pool, secrets.box(), id, patch)
      return s && (await healthOf([s]))[0]!
    },
    deleteSubscription: (id) => deleteSubscription(up().pool, id),
    rotateSecret: (id, grace) =>
      rotateSecret(up().pool, secrets.box(), id, secrets.generate(), grace),
    listDeliveries: (q) => listDeliveries(up().pool, q),
    getDelivery: (id) => getDelivery(up().pool, id),
    async retryDelivery(id) {
      const r = await retryDelivery(up().pool, id)
      if (r.outcome === 'due') dispatcher.wake()
      return r
    },
    async replay(filter, dryRun) {
      // The insert's NOTIFY wakes other nodes; this one is told in-process (and on PGlite).
      const r = await replay(up().pool, filter, dryRun)
      if (!dryRun && r.count > 0) dispatcher.wake()
      return r
    },
    async counts() {
      const by = new Map(
        (await eventsProcessed.get()).values.map((v) => [v.labels.outcome, v.value]),
      )
      // Best effort: a dispatcher thread restarting (or not up yet) counts nothing.
      const outbound = await dispatcher.outbound().catch(() => outboundCounts(undefined))
      return {
        stored: (by.get('stored') ?? 0) + (by.get('duplicate') ?? 0),
        failed: by.get('dead_lettered') ?? 0,
        delivered: outbound.delivered,
        failedAttempts: outbound.failedAttempts,
        backlog: outbound.backlog,
      }
    },
  }
}
