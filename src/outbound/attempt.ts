import type { Dispatcher } from 'undici'
import { packageVersion } from '../version.js'
import { parseRetryAfter } from './retry-after.js'
import { signHeaders } from './sign.js'
import { checkUrlShape } from './ssrf.js'
import { errorClass, type AttemptErrorClass } from './attempt-errors.js'
import { exchange } from './exchange.js'

export type { AttemptErrorClass } from './attempt-errors.js'

/** The contract's default for SLUICE_DELIVERY_TIMEOUT_MS. */
export const DEFAULT_DELIVERY_TIMEOUT_MS = 15_000
/** How much of a response body is read and kept; the rest is never read. */
export const EXCERPT_BYTES = 64 * 1024

export interface AttemptRequest {
  readonly url: string
  /** The exact bytes to send. */
  readonly body: Buffer
  readonly contentType: string
  /** The subscription's headers; signing and framing headers are ours and override them. */
  readonly headers?: Readonly<Record<string, string>>
  /** `webhook-id`: the same on every attempt. */
  readonly webhookId: string
  /** Every secret valid now (two during a rotation). */
  readonly secrets: readonly string[]
  /** W3C `traceparent` of this attempt's span (tracing on); it replaces the subscription's. */
  readonly traceparent?: string
}

export interface AttemptOptions {
  /** The outbound agent (createOutboundAgent), whose connector enforces the address policy. */
  readonly dispatcher: Dispatcher
  /**
   * Deadline of the whole attempt: connect, request, headers and response body.
   * @defaultValue DEFAULT_DELIVERY_TIMEOUT_MS
   */
  readonly timeoutMs?: number
  /** @defaultValue Date.now */
  readonly now?: () => number
}

interface Common {
  readonly durationMs: number
  /** The first EXCERPT_BYTES of the response body as UTF-8 (invalid bytes replaced). */
  readonly excerpt: string
  /** True when the body went on past the excerpt (and was not read further). */
  readonly truncated: boolean
}

/**
 * - `success`: a 2xx. `gone`: a 410 (the subscription is to be disabled).
 * - `retry`: 429 or 503, the statuses that mean "come back later"; `retryAfterMs` when the
 *   receiver said when (parseRetryAfter's bounds).
 * - `failure`: anything else: another status (3xx included, never followed), a timeout, a
 *   connection error, a refused destination. The contract retries both retry and failure.
 */
export type AttemptResult =
  | (Common & { readonly outcome: 'success'; readonly status: number })
  | (Common & {
      readonly outcome: 'gone'
      readonly status: 410
      readonly error: 'gone'
      readonly message: string
    })
  | (Common & {
      readonly outcome: 'retry'
      readonly status: number
      readonly error: AttemptErrorClass
      readonly message: string
      readonly retryAfterMs?: number
    })
  | (Common & {
      readonly outcome: 'failure'
      readonly status?: number
      readonly error: AttemptErrorClass
      readonly message: string
    })

/** The message of a 410 attempt; the dispatcher disables the subscription on it. */
export const GONE_MESSAGE = '410 Gone: subscription disabled'

/** Names the subscription may not set: framing, hop-by-hop, and what signing owns. */
const RESERVED = new Set(['host', 'content-length', 'content-type', 'transfer-encoding'])
const HOP = new Set(['connection', 'keep-alive', 'upgrade', 'expect', 'te', 'trailer'])

/**
 * One POST of one delivery. A problem with the delivery (URL, secret, receiver, network) is a
 * `failure` with its class, never a throw; only a bad `timeoutMs` throws (a TypeError).
 */
export async function attemptDelivery(
  req: AttemptRequest,
  options: AttemptOptions,
): Promise<AttemptResult> {
  const now = options.now ?? Date.now
  const started = performance.now()
  const elapsed = () => Math.round(performance.now() - started)
  const excerpt = new Excerpt()
  const fail = (error: AttemptErrorClass, message: string, status?: number): AttemptResult => ({
    outcome: 'failure',
    ...(status === undefined ? {} : { status }),
    error,
    message,
    durationMs: elapsed(),
    ...excerpt.result(),
  })

  const timeoutMs = options.timeoutMs ?? DEFAULT_DELIVERY_TIMEOUT_MS
  if (!Number.isSafeInteger(timeoutMs) || timeoutMs <= 0) {
    throw new TypeError('options.timeoutMs must be a positive integer')
  }
  const shape = checkUrlShape(req.url)
  if (!shape.ok) return fail('invalid_url', shape.message)
  let headers: Record<string, string>
  try {
    headers = outgoingHeaders(req, Math.floor(now() / 1000))
  } catch (err) {
    // signHeaders' TypeErrors: a malformed secret or webhook id.
    return fail('invalid_request', (err as Error).message)
  }
  const { origin, pathname, search } = shape.url
  const request = {
    origin,
    path: pathname + search,
    method: 'POST' as const,
    headers,
    body: req.body,
  }
  const ended = await exchange(options.dispatcher, request, excerpt, timeoutMs)
  if (ended.kind === 'timeout') {
    return fail('timeout', `no complete answer within ${timeoutMs} ms`, ended.status)
  }
  if (ended.kind === 'error') {
    const err = ended.error
    return fail(errorClass(err), err instanceof Error ? err.message : String(err), ended.status)
  }
  return classify(ended.status, ended.retryAfter, now(), elapsed(), excerpt)
}

function outgoingHeaders(req: AttemptRequest, timestampSeconds: number): Record<string, string> {
  const headers: Record<string, string> = { 'user-agent': `Sluice/${packageVersion()}` }
  for (const [name, value] of Object.entries(req.headers ?? {})) {
    const lower = name.toLowerCase()
    if (RESERVED.has(lower) || HOP.has(lower) || lower.startsWith('webhook-')) continue
    headers[lower] = value
  }
  headers['content-type'] = req.contentType
  if (req.traceparent !== undefined) headers.traceparent = req.traceparent
  return { ...headers, ...signHeaders(req.webhookId, timestampSeconds, req.body, req.secrets) }
}

function classify(
  status: number,
  retryAfter: string | string[] | undefined,
  nowMs: number,
  durationMs: number,
  excerpt: Excerpt,
): AttemptResult {
  const common = { status, durationMs, ...excerpt.result() }
  if (status >= 200 && status < 300) return { outcome: 'success', ...common }
  // A failed attempt always says why: a 410's reason is that it ends the subscription.
  if (status === 410) {
    return { outcome: 'gone', ...common, status, error: 'gone', message: GONE_MESSAGE }
  }
  const error: AttemptErrorClass =
    status >= 300 && status < 400
      ? 'redirect'
      : status >= 400 && status < 500
        ? 'status_4xx'
        : status >= 500 && status < 600
          ? 'status_5xx'
          : 'status_other'
  const message = `the receiver answered ${status}`
  if (status !== 429 && status !== 503) return { outcome: 'failure', error, message, ...common }
  const retryAfterMs = parseRetryAfter(retryAfter, nowMs)
  return {
    outcome: 'retry',
    error,
    message,
    ...common,
    ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
  }
}

/** The first EXCERPT_BYTES of the body, kept as it arrives so a timeout still has them. */
class Excerpt {
  private readonly chunks: Buffer[] = []
  private size = 0
  private cut = false

  /** Keeps what fits; false once the body went past the excerpt (stop reading). */
  add(chunk: Buffer): boolean {
    const room = EXCERPT_BYTES - this.size
    if (chunk.length > room) this.cut = true
    const kept = chunk.length > room ? chunk.subarray(0, room) : chunk
    this.chunks.push(kept)
    this.size += kept.length
    // A body of exactly EXCERPT_BYTES is read to its end; only a byte past it stops the read.
    return !this.cut
  }

  result(): { excerpt: string; truncated: boolean } {
    // stream: true drops a multi-byte character cut in half at the end instead of mangling it.
    const text = new TextDecoder('utf-8').decode(Buffer.concat(this.chunks), { stream: this.cut })
    return { excerpt: text, truncated: this.cut }
  }
}
