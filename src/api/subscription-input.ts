import { z } from 'zod'
import { compileFilter, FilterError } from '../outbound/filter.js'
import { parsePointer, PointerError } from '../outbound/ordering.js'

/**
 * Header names a subscription may not set: they would break HTTP framing or routing, or forge
 * the signature headers the dispatcher writes.
 */
const RESERVED = new Set([
  'host',
  'content-length',
  'content-type',
  'transfer-encoding',
  'connection',
  'keep-alive',
  'upgrade',
  'te',
  'trailer',
  'expect',
])
const reserved = (name: string) =>
  RESERVED.has(name) || name.startsWith('webhook-') || name.startsWith('proxy-')

const url = z
  .string()
  .max(2048, 'must be at most 2048 characters')
  .superRefine((s, ctx) => {
    let u: URL
    try {
      u = new URL(s)
    } catch {
      ctx.addIssue({ code: 'custom', message: 'must be an absolute http:// or https:// URL' })
      return
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') {
      ctx.addIssue({ code: 'custom', message: `must use http or https, not ${u.protocol}` })
    }
    if (u.username || u.password) {
      ctx.addIssue({ code: 'custom', message: 'must not carry credentials (user:password@)' })
    }
    if (u.hash) ctx.addIssue({ code: 'custom', message: 'must not have a #fragment' })
  })
  .meta({ format: 'uri' })

const eventType = z
  .string()
  .min(1, 'must not be empty')
  .max(200, 'must be at most 200 characters')
  .refine((t) => !t.slice(0, -1).includes('*'), "may hold '*' only as its last character")

const name = z.string().min(1, 'must not be empty').max(256, 'must be at most 256 characters')

const headers = z.record(z.string(), z.string()).superRefine((h, ctx) => {
  for (const [k, v] of Object.entries(h)) {
    const lower = k.toLowerCase()
    if (!/^[!#$%&'*+.^_`|~0-9a-z-]+$/i.test(k)) {
      ctx.addIssue({ code: 'custom', path: [k], message: 'is not a valid header name' })
    } else if (reserved(lower)) {
      ctx.addIssue({ code: 'custom', path: [k], message: 'is set by Sluice and cannot be set' })
    }
    if (/[\r\n\0]/.test(v) || v.length > 4096) {
      ctx.addIssue({ code: 'custom', path: [k], message: 'value: no CR, LF or NUL; at most 4096' })
    }
  }
  if (Object.keys(h).length > 50) ctx.addIssue({ code: 'custom', message: 'at most 50 headers' })
})

const secret = z
  .string()
  .regex(/^whsec_[A-Za-z0-9+/]+={0,2}$/, 'must be whsec_ followed by base64')
  .refine((s) => {
    const n = Buffer.from(s.slice(6), 'base64').length
    return n >= 24 && n <= 64
  }, 'must hold 24 to 64 bytes of key')

const filter = z
  .record(z.string(), z.unknown(), { message: 'must be an object' })
  .meta({
    description:
      'dotted paths or $and/$or/$not; values are literals or $eq, $ne, $gt, $gte, $lt, ' +
      '$lte, $in, $nin, $exists, $prefix (docs/outbound.md)',
  })
  .superRefine((f, ctx) => {
    try {
      compileFilter(f)
    } catch (err) {
      if (!(err instanceof FilterError)) throw err
      // The error's path starts with `filter`, which zod puts in front of this issue already.
      const inner = err.path.slice('filter.'.length)
      ctx.addIssue({ code: 'custom', path: inner ? [inner] : [], message: err.why })
    }
  })

const ordering = z.strictObject({
  key: z.string().superRefine((key, ctx) => {
    try {
      parsePointer(key)
    } catch (err) {
      if (!(err instanceof PointerError)) throw err
      ctx.addIssue({ code: 'custom', message: err.message })
    }
  }),
})

const fields = {
  url,
  eventTypes: z.array(eventType).min(1, 'must name at least one type').max(100).optional(),
  sources: z.array(name).min(1, 'must name at least one source').max(100).optional(),
  headers: headers.optional(),
  payload: z.record(z.string(), z.unknown()).optional(),
  secret: secret.optional(),
  rateLimit: z
    .strictObject({
      perSecond: z.number().positive('must be above 0').max(100_000),
      burst: z.number().int().min(1).max(100_000),
    })
    .optional(),
  maxInFlight: z.number().int().min(1).max(1000).optional(),
  description: z.string().max(500, 'must be at most 500 characters').optional(),
  filter: filter.optional(),
  ordering: ordering.optional(),
}

export const subscriptionCreate = z.strictObject(fields)

/** Fields a PATCH may set to null: back to every type, every source, no payload, no limit. */
const RESETTABLE = [
  'eventTypes',
  'sources',
  'payload',
  'rateLimit',
  'description',
  'filter',
  'ordering',
] as const
type Resettable = (typeof RESETTABLE)[number]
const resettable = (k: string): k is Resettable => (RESETTABLE as readonly string[]).includes(k)

export const subscriptionPatch = z.strictObject({
  ...Object.fromEntries(
    Object.entries(fields).map(([k, v]) => [k, resettable(k) ? v.nullable() : v.optional()]),
  ),
  status: z
    .enum(['active', 'disabled'], { message: "must be 'active' or 'disabled'" })
    .optional()
    .meta({ description: 'active also resumes a paused subscription' }),
}) as unknown as z.ZodType<SubscriptionPatch>

export const rotateBody = z.strictObject({
  graceSeconds: z
    .number()
    .int()
    .min(0)
    .max(30 * 86400)
    .optional(),
})

export type SubscriptionInput = z.infer<typeof subscriptionCreate>
export type SubscriptionPatch = Partial<Omit<SubscriptionInput, Resettable>> & {
  [K in Resettable]?: SubscriptionInput[K] | null
} & { status?: 'active' | 'disabled' }

/** The create-or-update key: the URL and the sorted types and sources (absent = every one). */
export function matchKey(s: {
  url: string
  eventTypes?: string[] | null
  sources?: string[] | null
}) {
  const list = (l?: string[] | null) => (l ? [...new Set(l)].sort() : null)
  return JSON.stringify([s.url, list(s.eventTypes), list(s.sources)])
}
