import { UUID } from '../api/fields.js'
import { deliveriesQuery, emptyBody, replayBody } from '../api/requests.js'
import type { Delivery } from '../api/types.js'
import type { AdminData } from '../model/admin-data.js'
import {
  decodeCursor,
  InvalidRequest,
  missing,
  page,
  parse,
  queryObject,
  type AdminRoute,
  type Answer,
} from './route-kit.js'

// Delivery ids are bigint identities; anything else names no delivery.
const DELIVERY_ID = /^[1-9]\d{0,17}$/

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
        return { status: 200, json: page(items, q.limit, (d) => [d.id]) }
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
        parse(emptyBody, body ?? {})
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
