import { z } from 'zod'

/** A query string or body that does not validate; the message names the field. */
export class InvalidRequest extends Error {
  override name = 'InvalidRequest'
}

export const iso = z
  .string()
  .regex(
    /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/,
    'must be an ISO 8601 date or date-time, e.g. 2026-12-01T12:00:00Z',
  )
  .refine((s) => !Number.isNaN(Date.parse(s)), 'must be a valid date')

export const name = z
  .string()
  .min(1, 'must not be empty')
  .max(256, 'must be at most 256 characters')

export const limit = z
  .string()
  .regex(/^\d+$/, 'must be an integer from 1 to 1000')
  .transform(Number)
  .refine((n) => n >= 1 && n <= 1000, 'must be an integer from 1 to 1000')
  .default(100)

export const cursor = z
  .string()
  .regex(/^[\w-]{1,2048}$/, 'must be a nextCursor returned by this API')

export const eventsQuery = z.strictObject({
  source: name.optional(),
  type: name.optional(),
  since: iso.optional(),
  until: iso.optional(),
  limit,
  cursor: cursor.optional(),
})

export const deadLettersQuery = z.strictObject({
  source: name.optional(),
  limit,
  cursor: cursor.optional(),
})

export const redriveBody = z.strictObject({
  ids: z
    .array(z.strictObject({ source: name, id: name }))
    .min(1, 'must name at least one dead letter; send {} to redrive all')
    .max(1000, 'must name at most 1000 dead letters')
    .optional(),
})

/** Parse or throw InvalidRequest naming the first bad field and what it accepts. */
export function parse<T extends z.ZodType>(schema: T, input: unknown): z.infer<T> {
  const r = schema.safeParse(input)
  if (r.success) return r.data
  const issue = r.error.issues[0]!
  if (issue.code === 'unrecognized_keys') {
    throw new InvalidRequest(`unknown field(s): ${issue.keys.join(', ')}`)
  }
  const field = issue.path.join('.') || 'body'
  throw new InvalidRequest(`${field}: ${issue.message}`)
}

/** The query string as an object; a parameter given twice is refused. */
export function queryObject(query: string): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [k, v] of new URLSearchParams(query)) {
    if (k in out) throw new InvalidRequest(`${k}: given more than once`)
    out[k] = v
  }
  return out
}

/** Opaque page cursors: base64url of the JSON of the last row's key. */
export function encodeCursor(key: readonly string[]): string {
  return Buffer.from(JSON.stringify(key)).toString('base64url')
}

export function decodeCursor(cursor: string, parts: number): string[] {
  let key: unknown
  try {
    key = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'))
  } catch {
    key = null
  }
  if (!Array.isArray(key) || key.length !== parts || !key.every((k) => typeof k === 'string')) {
    throw new InvalidRequest('cursor: must be a nextCursor returned by this API')
  }
  return key
}
