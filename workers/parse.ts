/**
 * Body parsing and event-type detection, pure functions shared by the worker threads and the
 * main-thread store path.
 */

const utf8 = new TextDecoder('utf-8', { fatal: true })

// Content types whose bodies are never JSON even when they happen to parse as JSON.
const NOT_JSON = /^(application\/x-www-form-urlencoded|multipart\/)/i

// First byte of any JSON text: { [ " - 0-9 t f n (after optional whitespace).
function startsLikeJson(body: Uint8Array): boolean {
  for (const b of body) {
    if (b === 0x20 || b === 0x09 || b === 0x0a || b === 0x0d) continue
    return (
      b === 0x7b ||
      b === 0x5b ||
      b === 0x22 ||
      b === 0x2d ||
      (b >= 0x30 && b <= 0x39) ||
      b === 0x74 ||
      b === 0x66 ||
      b === 0x6e
    )
  }
  return false
}

/**
 * Whether the body can be JSON, from its content type and first byte only: the store statement
 * lets Postgres parse such bodies (it makes the jsonb payload from them anyway) instead of
 * parsing each one here too; workers/insert.ts falls back to parseBody when Postgres refuses one.
 */
export function mayBeJson(body: Uint8Array, contentType: string): boolean {
  return !NOT_JSON.test(contentType) && startsLikeJson(body)
}

export interface ParsedBody {
  /** The JSON text exactly as received (for the jsonb column), null when not JSON. */
  json: string | null
  /** The parsed value (any JSON, not only objects), undefined when not JSON. */
  value: unknown
}

/**
 * JSON -> the text and the value; anything else (form, binary, invalid UTF-8, malformed JSON)
 * -> null. The content type is not trusted to say JSON (senders often omit or mislabel it),
 * only to say "not JSON" for forms. A top-level scalar such as `42` or `"x"` is JSON too.
 */
export function parseBody(body: Uint8Array, contentType: string): ParsedBody {
  if (!mayBeJson(body, contentType)) return { json: null, value: undefined }
  try {
    const text = utf8.decode(body)
    return { json: text, value: JSON.parse(text) }
  } catch {
    return { json: null, value: undefined }
  }
}

function bodyType(value: unknown): string | null {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return null
  const t = (value as { type?: unknown }).type
  return typeof t === 'string' && t !== '' ? t : null
}

/**
 * The type the headers state, split around the body's top-level `type`: the event's type is
 * `first ?? the body's type ?? fallback`. The store statement takes the body's type from the
 * jsonb payload Postgres makes anyway, so the body is not parsed here for it.
 */
export interface HeaderTypes {
  readonly first: string | null
  readonly fallback: string | null
}

/**
 * The header parts of the event type (detectType is the whole of it). The sender's type is, in
 * this order: `X-GitHub-Event`; Stripe's body `type` (source verified by stripe or carrying
 * Stripe-Signature); `X-Shopify-Topic`; a Standard Webhooks body `type` (verified as such or
 * carrying webhook-id / svix-id); `X-Event-Type`; else a top-level body `type`. Headers are
 * lower-cased.
 */
export function headerTypes(
  headers: Record<string, string>,
  verifiedBy: string | null,
): HeaderTypes {
  const h = (name: string) => {
    const v = headers[name]
    return typeof v === 'string' && v !== '' ? v : null
  }
  const github = h('x-github-event')
  if (github) return { first: github, fallback: null }
  // Where the body's type comes before a header, the headers after it are what is left.
  if (verifiedBy === 'stripe' || h('stripe-signature')) {
    return { first: null, fallback: h('x-shopify-topic') ?? h('x-event-type') }
  }
  const shopify = h('x-shopify-topic')
  if (shopify) return { first: shopify, fallback: null }
  if (verifiedBy === 'standard-webhooks' || h('webhook-id') || h('svix-id')) {
    return { first: null, fallback: h('x-event-type') }
  }
  return { first: h('x-event-type'), fallback: null }
}

/** headerTypes with the body's parsed value: the event type as the store statement makes it. */
export function detectType(
  headers: Record<string, string>,
  verifiedBy: string | null,
  value: unknown,
): string | null {
  const { first, fallback } = headerTypes(headers, verifiedBy)
  return first ?? bodyType(value) ?? fallback
}
