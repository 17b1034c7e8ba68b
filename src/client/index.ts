import type { z } from 'zod'
import { components } from '../api/components.js'
import type {
  DeadLettersQuery,
  DeliveriesQuery,
  EventsQuery,
  ReplayBody,
  SubscriptionsQuery,
} from '../api/requests.js'
import type { SubscriptionInput, SubscriptionPatch } from '../api/subscription-input.js'

export type * from '../api/types.js'
export type { SubscriptionInput, SubscriptionPatch }

/**
 * A typed client of one Sluice node's admin API (docs/client.md), for the `sluice` commands
 * and for users' own scripts. Every answer is parsed with the schema the engine answers by
 * (src/api), so a script gets the types the engine promises or a SluiceApiError saying why not.
 */

/** A failed call: the engine was not reachable, refused, or answered what the schema refuses. */
export class SluiceApiError extends Error {
  override name = 'SluiceApiError'
  constructor(
    message: string,
    /** The HTTP status; null when there was no answer. */
    readonly status: number | null,
    /** The answer's stable `error` code (docs/errors.md); null when there was no error body. */
    readonly code: string | null = null,
  ) {
    super(message)
  }
}

export interface ClientOptions {
  /** e.g. http://127.0.0.1:8081 (SLUICE_ADMIN_HOST:SLUICE_ADMIN_PORT). */
  baseUrl: string
  /** One of SLUICE_ADMIN_TOKEN's tokens, or the content of SLUICE_DATA_DIR/admin-token. */
  token: string
  /** Per call; default 10 s. */
  timeoutMs?: number
  /** Added to the message of a 401 (the CLI says where the token comes from). */
  unauthorizedHint?: string
}

type Query = Record<string, string | number | undefined>
interface Request {
  method?: 'GET' | 'POST' | 'PATCH' | 'DELETE'
  query?: Query
  body?: unknown
}

const path = (...parts: string[]) => parts.map(encodeURIComponent).join('/')

export function sluiceClient(o: ClientOptions) {
  const base = o.baseUrl.replace(/\/+$/, '')

  async function call<S extends z.ZodType | null>(
    schema: S,
    route: string,
    r: Request = {},
  ): Promise<S extends z.ZodType ? z.output<S> : null> {
    const q = new URLSearchParams()
    for (const [k, v] of Object.entries(r.query ?? {})) if (v !== undefined) q.set(k, String(v))
    const url = `${base}${route}${q.size ? `?${q}` : ''}`
    let res: Response
    try {
      res = await fetch(url, {
        method: r.method ?? (r.body === undefined ? 'GET' : 'POST'),
        headers: {
          authorization: `Bearer ${o.token}`,
          ...(r.body !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        ...(r.body !== undefined ? { body: JSON.stringify(r.body) } : {}),
        signal: AbortSignal.timeout(o.timeoutMs ?? 10_000),
      })
    } catch (err) {
      const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message
      throw new SluiceApiError(
        `the engine's admin API at ${base} is not reachable (${cause})`,
        null,
      )
    }
    const body: unknown = res.status === 204 ? null : await res.json().catch(() => null)
    if (!res.ok) {
      const e = components.Error.safeParse(body)
      const why = e.success ? e.data.message : res.statusText
      const hint = res.status === 401 && o.unauthorizedHint ? `; ${o.unauthorizedHint}` : ''
      const code = e.success ? e.data.error : null
      throw new SluiceApiError(`${route}: ${res.status} ${why}${hint}`, res.status, code)
    }
    if (schema === null) return null as never
    const parsed = schema.safeParse(body)
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!
      throw new SluiceApiError(
        `${route}: the answer does not match the API's schema (${issue.path.join('.')}: ${issue.message})`,
        res.status,
        'invalid_answer',
      )
    }
    return parsed.data as never
  }

  const c = components
  return {
    status: () => call(c.Status, '/v1/status'),
    listEvents: (query: EventsQuery = {}) => call(c.EventPage, '/v1/events', { query }),
    getEvent: (source: string, id: string) => call(c.EventDetail, `/v1/events/${path(source, id)}`),
    listDeadLetters: (query: DeadLettersQuery = {}) =>
      call(c.DeadLetterPage, '/v1/dead-letters', { query }),
    /** Try dead letters again: those named, or every one. */
    retryDeadLetters: (ids?: { source: string; id: string }[]) =>
      call(c.DeadLetterRetryResult, '/v1/dead-letters/retry', { body: ids ? { ids } : {} }),
    listSubscriptions: (query: SubscriptionsQuery = {}) =>
      call(c.SubscriptionPage, '/v1/subscriptions', { query }),
    getSubscription: (id: string) => call(c.ListedSubscription, `/v1/subscriptions/${path(id)}`),
    /** Create, or update the one with the same url, eventTypes and sources. */
    putSubscription: (input: SubscriptionInput) =>
      call(c.Subscription, '/v1/subscriptions', { body: input }),
    patchSubscription: (id: string, patch: SubscriptionPatch) =>
      call(c.ListedSubscription, `/v1/subscriptions/${path(id)}`, {
        method: 'PATCH',
        body: patch,
      }),
    deleteSubscription: (id: string) =>
      call(null, `/v1/subscriptions/${path(id)}`, { method: 'DELETE' }),
    rotateSecret: (id: string, graceSeconds?: number) =>
      call(c.Subscription, `/v1/subscriptions/${path(id)}/rotate-secret`, {
        body: graceSeconds === undefined ? {} : { graceSeconds },
      }),
    listDeliveries: (subscriptionId: string, query: DeliveriesQuery = {}) =>
      call(c.DeliveryPage, `/v1/subscriptions/${path(subscriptionId)}/deliveries`, { query }),
    getDelivery: (id: string) => call(c.DeliveryDetail, `/v1/deliveries/${path(id)}`),
    /** Attempt a pending or failed delivery again now. */
    retryDelivery: (id: string) =>
      call(c.Delivery, `/v1/deliveries/${path(id)}/retry`, { body: {} }),
    replay: (body: ReplayBody) => call(c.ReplayResult, '/v1/replay', { body }),
  }
}

export type SluiceClient = ReturnType<typeof sluiceClient>
