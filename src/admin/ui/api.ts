// The admin API as the page uses it (docs/admin-api.md): the bearer token kept in this tab's
// sessionStorage, JSON in and out, 401 handed to the page so it asks for the token again.

const TOKEN_KEY = 'sluice.adminToken'

interface Check {
  ok: boolean
  code?: string
  error?: string
  hint?: string
  since?: string
}
interface JournalCheck extends Check {
  state: string
  backlog: number
  oldestPendingAgeMs: number | null
}
interface BrokerCheck extends Check {
  name: string
  state: string
  forwarder: string
  consecutiveFailures: number
  lastError?: string | null
}
interface DatabaseCheck extends Check {
  state: string
  consuming: boolean
  embedded: boolean
  pingError?: string
}
/** The outbound dispatcher's claims and result writes (src/dispatcher/health.ts). */
interface DispatcherCheck extends Check {
  state: string
  listening: boolean | null
  lastError: string | null
}
interface RatePoint {
  at: string
  received: number
  stored: number
}
interface Status {
  status: string
  version: string
  node: { hostname: string; pid: number; startedAt: string; uptimeSeconds: number }
  checks: {
    accepting: Check
    journal: JournalCheck
    broker: BrokerCheck
    database: DatabaseCheck
    // Absent from engines older than the check.
    dispatcher?: DispatcherCheck
  }
  rates: { windowSeconds: number; receivedPerSecond: number; storedPerSecond: number }
  totals: { received: number; stored: number; failed: number; failedAttempts: number }
  history: { intervalSeconds: number; points: RatePoint[] }
  deadLetters: number | null
  deliveries: DeliveriesStatus
}
/** Counts from Postgres every 5 s (null until the first); rates of this node, last minute. */
interface DeliveriesStatus {
  pending: number | null
  oldestPendingSeconds: number | null
  deliveredPerSecond: number
  failedPerSecond: number
  failingSubscriptions: number | null
  pausedSubscriptions: number | null
  disabledSubscriptions: number | null
}
interface Page<T> {
  data: T[]
  nextCursor: string | null
}
interface EventSummary {
  source: string
  id: string
  type: string | null
  receivedAt: string
  processedAt: string | null
  verifiedBy: string | null
  contentType: string
  bytes: number
}
interface EventDetail extends EventSummary {
  headers: Record<string, string>
  body: string
  deliveries: Delivery[]
}
interface DeadLetter {
  source: string
  id: string
  reason: string
  attempts: number
  lastError: string
  lastFailedAt: string
  bytes: number
}

/** Flow control (docs/outbound.md): paused from Postgres; else this node's lane. */
type FlowState = 'normal' | 'narrowed' | 'held' | 'paused'
interface SubscriptionFlow {
  state: FlowState
  inFlightLimit: number
  consecutiveFailures: number
  congestedSince: string | null
  pausedAt: string | null
  nextProbeAt: string | null
  heldUntil: string | null
}
interface Subscription {
  id: string
  url: string
  description: string | null
  status: 'active' | 'disabled'
  disabledReason: string | null
  createdAt: string
  maxInFlight: number
  /** Set by API callers: shown as text only. */
  filter: Record<string, unknown> | null
  ordering: { key: string } | null
  /** Pending and failed are counted in Postgres; inFlight and flow are the answering node's. */
  delivery: {
    pending: number
    failed: number
    inFlight: number
    failingSince: string | null
    lastSuccessAt: string | null
    flow: SubscriptionFlow
  }
}
type DeliveryStatus = 'pending' | 'succeeded' | 'failed' | 'cancelled'
interface Delivery {
  id: string
  subscriptionId: string
  source: string
  eventId: string
  generation: number
  status: DeliveryStatus
  attempts: number
  nextAttemptAt: string | null
  inFlight: boolean
  lastStatus: number | null
  lastError: string | null
  createdAt: string
  completedAt: string | null
  /** The event's value at the subscription's ordering pointer, as JSON text. */
  orderingKey: string | null
  /** The delivery of the same key this one waits for. */
  waitingFor: string | null
}
interface Attempt {
  attempt: number
  attemptedAt: string
  durationMs: number
  statusCode: number | null
  error: string | null
  message: string | null
  responseExcerpt: string | null
  responseTruncated: boolean
  node: string
  /** A probe of a paused subscription: unless it succeeded, it spent no attempt. */
  probe: boolean
}
interface DeliveryDetail extends Delivery {
  url: string
  attemptLog: Attempt[]
}

/** A refused token. The page has already been told (onUnauthorized) when this is thrown. */
class Unauthorized extends Error {}

/** Any other error answer, with the API's stable code and its message. */
class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message)
  }
}

const token = (): string | null => sessionStorage.getItem(TOKEN_KEY)
const saveToken = (value: string): void => sessionStorage.setItem(TOKEN_KEY, value)
const forgetToken = (): void => sessionStorage.removeItem(TOKEN_KEY)

/** Dispatched on document when the token is refused; main.ts brings the token form back. */
const UNAUTHORIZED_EVENT = 'sluice:unauthorized'

/** GET without a body, POST with one, unless `method` says otherwise (PATCH). */
async function api<T>(path: string, body?: unknown, method?: string): Promise<T> {
  const bearer = token()
  if (!bearer) throw new Unauthorized('no token')
  const headers: Record<string, string> = { authorization: `Bearer ${bearer}` }
  if (body !== undefined) headers['content-type'] = 'application/json'
  const res = await fetch(path, {
    method: method ?? (body === undefined ? 'GET' : 'POST'),
    headers,
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  })
  if (res.status === 401) {
    forgetToken()
    const message = 'The server refused this token (401 unauthorized). Type it again.'
    document.dispatchEvent(new CustomEvent(UNAUTHORIZED_EVENT, { detail: message }))
    throw new Unauthorized('401')
  }
  if (!res.ok) {
    const err = (await res.json().catch(() => ({}))) as { error?: string; message?: string }
    throw new ApiError(res.status, err.error ?? `http_${res.status}`, err.message ?? res.statusText)
  }
  return (await res.json()) as T
}

/** `/v1/events?source=a&limit=50`, leaving out empty parameters. */
function query(path: string, params: Record<string, string | null | undefined>): string {
  const q = new URLSearchParams()
  for (const [k, v] of Object.entries(params)) if (v) q.set(k, v)
  const s = q.toString()
  return s ? `${path}?${s}` : path
}

/** What to show for a failed request (the 401 is shown by the token form instead). */
function failure(err: unknown): string {
  if (err instanceof ApiError) return `${err.code}: ${err.message}`
  if (err instanceof Error) return `cannot reach the admin API: ${err.message}`
  return String(err)
}
