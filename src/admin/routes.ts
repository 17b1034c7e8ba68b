import type { AdminData } from '../model/admin-data.js'
import type { OutboundPolicy } from '../outbound/ssrf.js'
import { deliveryRoutes } from './delivery-routes.js'
import { subscriptionRoutes } from './subscription-routes.js'
import {
  decodeCursor,
  deadLettersQuery,
  encodeCursor,
  eventsQuery,
  parse,
  queryObject,
  redriveBody,
} from './schemas.js'

/** What a route answers: JSON, or the operator page. */
export type Answer =
  | { status: number; json: unknown }
  | { status: number; html: string }
  | { status: number; empty: true }

export interface RouteInput {
  /** Path parameters in the order the path names them (URL-decoded). */
  params: string[]
  query: string
  /** The parsed JSON body of a POST (undefined for GET). */
  body?: unknown
}

export interface AdminRoute {
  /** uWebSockets.js method name (`del` is DELETE). */
  method: 'get' | 'post' | 'patch' | 'del'
  /** uWebSockets.js pattern; `:name` is a parameter. */
  path: string
  /** Needs the bearer token. */
  auth: boolean
  run(input: RouteInput): Promise<Answer>
}

export interface AdminContext {
  data: AdminData
  /** The body of GET /v1/status. */
  status(): Promise<unknown>
  /** The operator page's HTML, when it is available. */
  page: (() => string) | null
  /** Which destinations subscriptions may name (SLUICE_OUTBOUND_ALLOW). */
  outbound: OutboundPolicy
}

const ok = (json: unknown): Answer => ({ status: 200, json })

/** A page of `items` fetched with limit + 1, so the cursor is null exactly on the last page. */
function page<T>(items: T[], limit: number, key: (t: T) => string[]) {
  const more = items.length > limit
  const data = more ? items.slice(0, limit) : items
  const last = data.at(-1)
  return { data, nextCursor: more && last ? encodeCursor(key(last)) : null }
}

/** Every route of the admin listener; the OpenAPI test walks this list. */
export function adminRoutes(ctx: AdminContext, openapi: () => unknown): AdminRoute[] {
  return [
    {
      method: 'get',
      path: '/',
      auth: false,
      run: async () =>
        ctx.page
          ? { status: 200, html: ctx.page() }
          : { status: 404, json: notFound('the operator page is not built') },
    },
    { method: 'get', path: '/v1/openapi.json', auth: false, run: async () => ok(openapi()) },
    { method: 'get', path: '/v1/status', auth: true, run: async () => ok(await ctx.status()) },
    {
      method: 'get',
      path: '/v1/events',
      auth: true,
      async run({ query }) {
        const q = parse(eventsQuery, queryObject(query))
        const [receivedAt, source, id] = q.cursor ? decodeCursor(q.cursor, 3) : []
        const items = await ctx.data.listEvents({
          ...(q.source !== undefined ? { source: q.source } : {}),
          ...(q.type !== undefined ? { type: q.type } : {}),
          ...(q.since !== undefined ? { since: q.since } : {}),
          ...(q.until !== undefined ? { until: q.until } : {}),
          limit: q.limit + 1,
          ...(receivedAt ? { after: { receivedAt, source: source!, id: id! } } : {}),
        })
        return ok(page(items, q.limit, (e) => [e.receivedAt, e.source, e.id]))
      },
    },
    {
      method: 'get',
      path: '/v1/events/:source/:id',
      auth: true,
      async run({ params: [source, id] }) {
        const event = await ctx.data.getEvent({ source: source!, id: id! })
        if (!event) return { status: 404, json: notFound(`no event ${source}/${id}`) }
        return ok(event)
      },
    },
    {
      method: 'get',
      path: '/v1/dead-letters',
      auth: true,
      async run({ query }) {
        const q = parse(deadLettersQuery, queryObject(query))
        const [lastFailedAt, source, id] = q.cursor ? decodeCursor(q.cursor, 3) : []
        const items = await ctx.data.listDeadLetters({
          ...(q.source !== undefined ? { source: q.source } : {}),
          limit: q.limit + 1,
          ...(lastFailedAt ? { after: { lastFailedAt, source: source!, id: id! } } : {}),
        })
        return ok(page(items, q.limit, (d) => [d.lastFailedAt, d.source, d.id]))
      },
    },
    {
      method: 'post',
      path: '/v1/dead-letters/redrive',
      auth: true,
      async run({ body }) {
        const b = parse(redriveBody, body ?? {})
        return ok(await ctx.data.redrive(b.ids))
      },
    },
    ...subscriptionRoutes(ctx.data, ctx.outbound),
    ...deliveryRoutes(ctx.data),
  ]
}

const notFound = (message: string) => ({ status: 'error', error: 'not_found', message })
