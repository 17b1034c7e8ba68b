import type { z } from 'zod'
import type { OutboundPolicy } from '../outbound/ssrf.js'
import type { AdminData } from '../model/admin-data.js'

/**
 * What every admin route file shares: the route's shape, parsing a query or body with a
 * schema of src/api, page cursors and the common answers. The route files import this kit and
 * never each other (routes.ts only lists them).
 */

/** A query string or body that does not validate; the message names the field. */
export class InvalidRequest extends Error {
  override name = 'InvalidRequest'
}

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

export const ok = (json: unknown): Answer => ({ status: 200, json })

/** 404 naming what is missing, e.g. `subscription <id>`. */
export const missing = (what: string): Answer => ({
  status: 404,
  json: { status: 'error', error: 'not_found', message: `no ${what}` },
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

/** A page of `items` fetched with limit + 1, so the cursor is null exactly on the last page. */
export function page<T>(items: T[], limit: number, key: (t: T) => string[]) {
  const more = items.length > limit
  const data = more ? items.slice(0, limit) : items
  const last = data.at(-1)
  return { data, nextCursor: more && last ? encodeCursor(key(last)) : null }
}
