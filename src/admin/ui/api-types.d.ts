// Generated from src/api by src/api/page-types.ts: do not edit. The admin API shapes as
// global types of the operator page's scripts (test/api-one-source.test.ts checks it).

type ApiErrorBody = {
  status: 'error'
  /** a stable code (docs/errors.md) */
  error: string
  message: string
}

type EventSummary = {
  source: string
  id: string
  type: string | null
  receivedAt: string
  processedAt: string
  verifiedBy: string | null
  contentType: string | null
  bytes: number
}

type EventDetail = {
  source: string
  id: string
  type: string | null
  receivedAt: string
  processedAt: string
  verifiedBy: string | null
  contentType: string | null
  bytes: number
  headers: Record<string, string>
  body: string
  payload: unknown
  deliveries: Delivery[]
}

type EventPage = {
  data: EventSummary[]
  nextCursor: string | null
}

type DeadLetter = {
  source: string
  id: string
  reason: 'attempts_exhausted' | 'invalid_event' | 'undecodable_message'
  attempts: number
  lastError: string
  firstFailedAt: string
  lastFailedAt: string
  receivedAt: string
  contentType: string
  bytes: number
}

type DeadLetterPage = {
  data: DeadLetter[]
  nextCursor: string | null
}

type DeadLetterRetryBody = {
  ids?: {
    source: string
    id: string
  }[]
}

type DeadLetterRetryResult = {
  count: number
  failed: number
}

type Subscription = {
  id: string
  url: string
  eventTypes: string[] | null
  sources: string[] | null
  headers: Record<string, string>
  payload: Record<string, unknown> | null
  rateLimit: {
    perSecond: number
    burst: number
  } | null
  maxInFlight: number
  description: string | null
  /** matched against the JSON body */
  filter: Record<string, unknown> | null
  ordering: {
    /** a JSON pointer into the body */
    key: string
  } | null
  status: 'active' | 'disabled'
  disabledReason: string | null
  createdAt: string
  updatedAt: string
  /** only when made or given: on create, an update giving one, and rotate */
  secret?: string
  delivery?: SubscriptionDelivery
}

type ListedSubscription = {
  id: string
  url: string
  eventTypes: string[] | null
  sources: string[] | null
  headers: Record<string, string>
  payload: Record<string, unknown> | null
  rateLimit: {
    perSecond: number
    burst: number
  } | null
  maxInFlight: number
  description: string | null
  /** matched against the JSON body */
  filter: Record<string, unknown> | null
  ordering: {
    /** a JSON pointer into the body */
    key: string
  } | null
  status: 'active' | 'disabled'
  disabledReason: string | null
  createdAt: string
  updatedAt: string
  /** only when made or given: on create, an update giving one, and rotate */
  secret?: string
  delivery: SubscriptionDelivery
}

type SubscriptionPage = {
  data: ListedSubscription[]
  nextCursor: string | null
}

type SubscriptionInput = {
  url: string
  eventTypes?: string[]
  sources?: string[]
  headers?: Record<string, string>
  payload?: Record<string, unknown>
  secret?: string
  rateLimit?: {
    perSecond: number
    burst: number
  }
  maxInFlight?: number
  description?: string
  /** dotted paths or $and/$or/$not; values are literals or $eq, $ne, $gt, $gte, $lt, $lte, $in, $nin, $exists, $prefix (docs/outbound.md) */
  filter?: Record<string, unknown>
  ordering?: {
    key: string
  }
}

type SubscriptionPatch = {
  url?: string
  eventTypes?: string[] | null
  sources?: string[] | null
  headers?: Record<string, string>
  payload?: Record<string, unknown> | null
  secret?: string
  rateLimit?: {
    perSecond: number
    burst: number
  } | null
  maxInFlight?: number
  description?: string | null
  filter?: Record<string, unknown> | null
  ordering?: {
    key: string
  } | null
  /** active also resumes a paused subscription */
  status?: 'active' | 'disabled'
}

type RotateSecretBody = {
  graceSeconds?: number
}

/** pending and failed from Postgres; inFlight and flow are this node */
type SubscriptionDelivery = {
  pending: number
  failed: number
  inFlight: number
  /** kept for scripts: open while paused */
  breaker: 'closed' | 'open'
  failingSince: string | null
  lastSuccessAt: string | null
  flow: SubscriptionFlow
}

/** flow control: the pause from Postgres (every node), the rest this node */
type SubscriptionFlow = {
  state: 'normal' | 'narrowed' | 'held' | 'paused'
  /** attempts this node may have in flight now */
  inFlightLimit: number
  /** attempts in a row that met congestion (no answer, 5xx, 429) */
  consecutiveFailures: number
  /** when that run began */
  congestedSince: string | null
  pausedAt: string | null
  nextProbeAt: string | null
  /** a receiver's Retry-After holds new attempts */
  heldUntil: string | null
}

type Delivery = {
  /** a bigint, as a string */
  id: string
  subscriptionId: string
  source: string
  eventId: string
  /** 0 for the first fan-out; each replay one number of its own, increasing */
  generation: number
  status: 'pending' | 'succeeded' | 'failed' | 'cancelled'
  attempts: number
  /** when due; null while attempted or done */
  nextAttemptAt: string | null
  /** an attempt is under way on some node */
  inFlight: boolean
  lastStatus: number | null
  lastError: string | null
  createdAt: string
  completedAt: string | null
  /** the event's value at the ordering pointer (JSON text) */
  orderingKey: string | null
  /** the delivery of its key it waits for */
  waitingFor: string | null
}

type DeliveryPage = {
  data: Delivery[]
  nextCursor: string | null
}

type DeliveryDetail = {
  /** a bigint, as a string */
  id: string
  subscriptionId: string
  source: string
  eventId: string
  /** 0 for the first fan-out; each replay one number of its own, increasing */
  generation: number
  status: 'pending' | 'succeeded' | 'failed' | 'cancelled'
  attempts: number
  /** when due; null while attempted or done */
  nextAttemptAt: string | null
  /** an attempt is under way on some node */
  inFlight: boolean
  lastStatus: number | null
  lastError: string | null
  createdAt: string
  completedAt: string | null
  /** the event's value at the ordering pointer (JSON text) */
  orderingKey: string | null
  /** the delivery of its key it waits for */
  waitingFor: string | null
  url: string
  attemptLog: DeliveryAttempt[]
}

type DeliveryAttempt = {
  attempt: number
  attemptedAt: string
  durationMs: number
  statusCode: number | null
  /** the error class; null for a 2xx */
  error: string | null
  message: string | null
  /** the first 64 KiB of the response body */
  responseExcerpt: string | null
  responseTruncated: boolean
  node: string
  /** a probe of a paused subscription */
  probe: boolean
}

/** at least one of source, type, since, until, subscriptionId, or "all": true (else 400) */
type ReplayBody = {
  source?: string
  type?: string
  /** receivedAt >= */
  since?: string
  /** receivedAt < */
  until?: string
  subscriptionId?: string
  /** count only */
  dryRun?: boolean
  /** true: every stored event (no filter needed) */
  all?: boolean
}

type ReplayResult = {
  count: number
  dryRun: boolean
}

type StatusChecks = {
  accepting: {
    ok: boolean
    code?: string
    error?: string
    hint?: string
    since?: string | null
    [field: string]: unknown
  }
  journal: {
    ok: boolean
    code?: string
    error?: string
    hint?: string
    since?: string | null
    state?: string
    backlog?: number
    oldestPendingAgeMs?: number | null
    [field: string]: unknown
  }
  broker?: {
    ok: boolean
    code?: string
    error?: string
    hint?: string
    since?: string | null
    name?: string
    state?: string
    forwarder?: string
    consecutiveFailures?: number
    lastError?: string | null
    [field: string]: unknown
  }
  database?: {
    ok: boolean
    code?: string
    error?: string
    hint?: string
    since?: string | null
    state?: string
    consuming?: boolean
    embedded?: boolean
    pingError?: string
    [field: string]: unknown
  }
  readiness?: {
    ok: boolean
    code?: string
    error?: string
    hint?: string
    since?: string | null
    [field: string]: unknown
  }
  dispatcher?: {
    ok: boolean
    code?: string
    error?: string
    hint?: string
    since?: string | null
    state?: string
    listening?: boolean | null
    lastError?: string | null
    [field: string]: unknown
  }
  [field: string]: unknown
}

/** Outbound delivery at a glance. The counts come from Postgres (every node of one database sees the same), counted every 5 s, null until the first count; the rates are this node dispatcher's over the last minute. */
type DeliveriesStatus = {
  /** pending deliveries of active subscriptions, exact up to 100000 */
  pending: number | null
  /** age of the oldest of them since it was created; 0 when none */
  oldestPendingSeconds: number | null
  /** deliveries that succeeded */
  deliveredPerSecond: number
  /** delivery attempts that failed */
  failedPerSecond: number
  /** active, with failed attempts since their last success, not paused */
  failingSubscriptions: number | null
  /** active and paused by flow control */
  pausedSubscriptions: number | null
  disabledSubscriptions: number | null
}

type Status = {
  status: 'ready' | 'not_ready'
  version: string
  node: {
    hostname: string
    pid: number
    startedAt: string
    uptimeSeconds: number
  }
  checks: StatusChecks
  rates: {
    windowSeconds: number
    receivedPerSecond: number
    storedPerSecond: number
    deliveredPerSecond: number
    failedPerSecond: number
    [field: string]: unknown
  }
  totals: {
    received: number
    stored: number
    failed: number
    delivered: number
    failedAttempts: number
    [field: string]: unknown
  }
  history: {
    intervalSeconds: number
    points: {
      at: string
      received: number
      stored: number
    }[]
  }
  deadLetters: number | null
  deliveries: DeliveriesStatus
}

interface Page<T> {
  data: T[]
  nextCursor: string | null
}
