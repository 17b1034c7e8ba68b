import { z } from 'zod'
import type { Delivery } from '../db/delivery-queries.js'
import type { AdminData } from '../model/admin-data.js'
import type { AdminRoute, Answer } from './routes.js'
import {
  cursor,
  decodeCursor,
  encodeCursor,
  InvalidRequest,
  iso,
  limit,
  name,
  parse,
  queryObject,
} from './schemas.js'

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
// Delivery ids are bigint identities; anything else names no delivery.
const DELIVERY_ID = /^[1-9]\d{0,17}$/

const deliveriesQuery = z.strictObject({
  status: z
    .enum(['pending', 'succeeded', 'failed', 'cancelled'], {
      message: "must be 'pending', 'succeeded', 'failed' or 'cancelled'",
    })
    .optional(),
  limit,
  cursor: cursor.optional(),
})

const FILTERS = ['source', 'type', 'since', 'until', 'subscriptionId'] as const

const replayBody = z
  .strictObject({
    source: name.optional(),
    type: name.optional(),
    since: iso.optional(),
    until: iso.optional(),
    subscriptionId: z.string().regex(UUID, 'must be a subscription id').optional(),
    dryRun: z.boolean({ message: 'must be true or false' }).optional(),
    /** Says that every stored event is meant; beside filters it changes nothing. */
    all: z.boolean({ message: 'must be true or false' }).optional(),
  })
  .refine((b) => !b.since || !b.until || Date.parse(b.since) < Date.parse(b.until), {
    path: ['since'],
    message: 'must be before until',
  })
  // An empty body once re-sent every stored event: no filter has to be said out loud.
  .refine(
    (b) => b.all === true || FILTERS.some((k) => b[k] !== undefined),
    `must name at least one of ${FILTERS.join(', ')}, or "all": true to replay every stored event`,
  )

const missing = (what: string): Answer => ({
  status: 404,
  json: { status: 'error', error: 'not_found', message: `no ${what}` },
})

/** Why a delivery is not made due, and what the operator can do about it. */
function refusedRetry(
  outcome: 'not_retryable' | 'subscription_disabled' | 'subscription_deleted' | 'waiting',
  d: Delivery,
): Answer {
  const refuse = (error: string, message: string): Answer => ({
    status: 409,
    json: { status: 'error', error, message },
  })
  if (outcome === 'subscription_disabled') {
    return refuse(
      'subscription_disabled',
      `delivery ${d.id} belongs to subscription ${d.subscriptionId}, which is disabled: enable ` +
        `it first (PATCH /v1/subscriptions/${d.subscriptionId} {"status":"active"}, or ` +
        `sluice subscriptions enable --id ${d.subscriptionId}); its pending deliveries are then ` +
        'attempted, and this one can be retried',
    )
  }
  if (outcome === 'waiting') {
    return refuse(
      'delivery_waiting',
      d.waitingFor
        ? `delivery ${d.id} waits for delivery ${d.waitingFor} of its ordering key (${d.orderingKey}) and goes once that one is done: retry that one`
        : `delivery ${d.id} is being put in the order of its key (${d.orderingKey}); it goes when its turn comes`,
    )
  }
  if (outcome === 'subscription_deleted') {
    return refuse(
      'delivery_not_retryable',
      `delivery ${d.id} belongs to subscription ${d.subscriptionId}, which was deleted: its ` +
        'deliveries are not attempted (POST /v1/subscriptions with the same url, eventTypes ' +
        'and sources takes it up again)',
    )
  }
  return refuse(
    'delivery_not_retryable',
    `delivery ${d.id} is ${d.status}: only a pending or failed one is retried (POST /v1/replay delivers an event again)`,
  )
}

/** The delivery routes of the contract's "Outbound delivery" section, and replay. */
export function deliveryRoutes(data: AdminData): AdminRoute[] {
  return [
    {
      method: 'get',
      path: '/v1/subscriptions/:id/deliveries',
      auth: true,
      async run({ params: [id], query }) {
        const q = parse(deliveriesQuery, queryObject(query))
        const [before] = q.cursor ? decodeCursor(q.cursor, 1) : []
        if (before !== undefined && !DELIVERY_ID.test(before)) {
          throw new InvalidRequest('cursor: must be a nextCursor returned by this API')
        }
        if (!id || !UUID.test(id)) return missing(`subscription ${id}`)
        const items = await data.listDeliveries({
          subscriptionId: id,
          limit: q.limit + 1,
          ...(q.status ? { status: q.status } : {}),
          ...(before ? { before } : {}),
        })
        // Only an empty page pays for telling "no such subscription" from "nothing yet".
        if (items.length === 0 && !(await data.getSubscription(id))) {
          return missing(`subscription ${id}`)
        }
        const more = items.length > q.limit
        const page = more ? items.slice(0, q.limit) : items
        const last = page.at(-1)
        return {
          status: 200,
          json: { data: page, nextCursor: more && last ? encodeCursor([last.id]) : null },
        }
      },
    },
    {
      method: 'get',
      path: '/v1/deliveries/:id',
      auth: true,
      async run({ params: [id] }) {
        const d = id && DELIVERY_ID.test(id) ? await data.getDelivery(id) : null
        return d ? { status: 200, json: d } : missing(`delivery ${id}`)
      },
    },
    {
      method: 'post',
      path: '/v1/deliveries/:id/retry',
      auth: true,
      async run({ params: [id], body }) {
        parse(z.strictObject({}), body ?? {})
        if (!id || !DELIVERY_ID.test(id)) return missing(`delivery ${id}`)
        const r = await data.retryDelivery(id)
        if (r.outcome === 'missing') return missing(`delivery ${id}`)
        if (r.outcome === 'due') return { status: 200, json: r.delivery }
        return refusedRetry(r.outcome, r.delivery)
      },
    },
    {
      method: 'post',
      path: '/v1/replay',
      auth: true,
      async run({ body }) {
        const b = parse(replayBody, body ?? {})
        const dryRun = b.dryRun ?? false
        const { all: _, ...filter } = b
        const { count } = await data.replay(filter, dryRun)
        return { status: 200, json: { count, dryRun } }
      },
    },
  ]
}
