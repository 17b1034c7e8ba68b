import { deadLetterRetryBody, deadLettersQuery, eventsQuery } from '../api/requests.js'
import { deliveryRoutes } from './delivery-routes.js'
import {
  decodeCursor,
  missing,
  ok,
  page,
  parse,
  queryObject,
  type AdminContext,
  type AdminRoute,
} from './route-kit.js'
import { subscriptionRoutes } from './subscription-routes.js'

export type { AdminContext, AdminRoute, Answer, RouteInput } from './route-kit.js'

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
          : {
              status: 404,
              json: {
                status: 'error',
                error: 'not_found',
                message: 'the operator page is not built',
              },
            },
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
        if (!event) return missing(`event ${source}/${id}`)
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
    // "retry" is the API's one verb for trying again; "redrive" was its first name, kept.
    ...['/v1/dead-letters/retry', '/v1/dead-letters/redrive'].map((path): AdminRoute => ({
      method: 'post',
      path,
      auth: true,
      async run({ body }) {
        const b = parse(deadLetterRetryBody, body ?? {})
        return ok(await ctx.data.redrive(b.ids))
      },
    })),
    ...subscriptionRoutes(ctx.data, ctx.outbound),
    ...deliveryRoutes(ctx.data),
  ]
}
