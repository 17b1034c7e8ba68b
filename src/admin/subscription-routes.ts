import { UUID } from '../api/fields.js'
import { subscriptionsQuery } from '../api/requests.js'
import { rotateBody, subscriptionCreate, subscriptionPatch } from '../api/subscription-input.js'
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
import { ALLOW_VARIABLE, checkUrl, type OutboundPolicy } from '../outbound/ssrf.js'

const gone = (id: string | undefined): Answer => missing(`subscription ${id}`)

/** A subscription id that is not a UUID names no subscription: 404, without asking Postgres. */
function known(id: string | undefined): id is string {
  return id !== undefined && UUID.test(id)
}

/**
 * A destination the URL alone shows to be refused (a literal loopback, private or link-local
 * address, `localhost`) is refused at creation; names are checked at every connection. Its own
 * code, not `invalid_request`: the request is well-formed and the engine's configuration is what
 * refuses it, so a client (the CLI) must not read it as its caller's mistake.
 */
function refusedDestination(url: string | undefined, policy: OutboundPolicy): Answer | null {
  if (url === undefined) return null
  const check = checkUrl(url, policy)
  if (check.ok || check.problem !== 'address') return null
  return {
    status: 400,
    json: {
      status: 'error',
      error: 'destination_refused',
      message:
        `url: ${check.message}. ${ALLOW_VARIABLE} is a setting of the engine, not of the client ` +
        `calling this API: it takes effect when the engine is restarted with it ` +
        `(CIDRs or addresses, e.g. ${ALLOW_VARIABLE}=10.0.0.0/8)`,
    },
  }
}

/** The subscription routes of the contract's "Outbound delivery" section. */
export function subscriptionRoutes(data: AdminData, policy: OutboundPolicy): AdminRoute[] {
  const conflict = (err: unknown): Answer | null =>
    (err as { code?: string }).code === '23505'
      ? {
          status: 409,
          json: {
            status: 'error',
            error: 'subscription_conflict',
            message: 'another subscription has this url, eventTypes and sources',
          },
        }
      : null
  return [
    {
      method: 'post',
      path: '/v1/subscriptions',
      auth: true,
      async run({ body }) {
        const input = parse(subscriptionCreate, body)
        const refused = refusedDestination(input.url, policy)
        if (refused) return refused
        const { subscription, created } = await data.upsertSubscription(input)
        return { status: created ? 201 : 200, json: subscription }
      },
    },
    {
      method: 'get',
      path: '/v1/subscriptions',
      auth: true,
      async run({ query }) {
        const q = parse(subscriptionsQuery, queryObject(query))
        const [createdAt, id] = q.cursor ? decodeCursor(q.cursor, 2) : []
        const items = await data.listSubscriptions({
          limit: q.limit + 1,
          ...(q.status ? { status: q.status } : {}),
          ...(createdAt && id && UUID.test(id) ? { after: { createdAt, id } } : {}),
        })
        if (createdAt && !(id && UUID.test(id))) {
          throw new InvalidRequest('cursor: must be a nextCursor returned by this API')
        }
        return { status: 200, json: page(items, q.limit, (s) => [s.createdAt, s.id]) }
      },
    },
    {
      method: 'get',
      path: '/v1/subscriptions/:id',
      auth: true,
      async run({ params: [id] }) {
        const s = known(id) ? await data.getSubscription(id) : null
        return s ? { status: 200, json: s } : gone(id)
      },
    },
    {
      method: 'patch',
      path: '/v1/subscriptions/:id',
      auth: true,
      async run({ params: [id], body }) {
        const patch = parse(subscriptionPatch, body)
        const refused = refusedDestination(patch.url, policy)
        if (refused) return refused
        if (!known(id)) return gone(id)
        try {
          const s = await data.patchSubscription(id, patch)
          return s ? { status: 200, json: s } : gone(id)
        } catch (err) {
          const answer = conflict(err)
          if (answer) return answer
          throw err
        }
      },
    },
    {
      method: 'del',
      path: '/v1/subscriptions/:id',
      auth: true,
      async run({ params: [id] }) {
        return known(id) && (await data.deleteSubscription(id))
          ? { status: 204, empty: true }
          : gone(id)
      },
    },
    {
      method: 'post',
      path: '/v1/subscriptions/:id/rotate-secret',
      auth: true,
      async run({ params: [id], body }) {
        const b = parse(rotateBody, body ?? {})
        if (!known(id)) return gone(id)
        const s = await data.rotateSecret(id, b.graceSeconds ?? 86400)
        return s ? { status: 200, json: s } : gone(id)
      },
    },
  ]
}
