import { z } from 'zod'

/**
 * Field shapes the admin API's requests and answers share. This folder (src/api) is the one
 * source of the API's shapes: the routes parse with these schemas, the OpenAPI document is made
 * from them (openapi.ts), the typed client parses answers with them (src/client) and the
 * operator page's types are generated from them (src/admin/ui/api-types.d.ts). It imports zod
 * and nothing of the engine's, so every layer (db, admin, client, commands) may import it.
 */

export const iso = z
  .string()
  .regex(
    /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/,
    'must be an ISO 8601 date or date-time, e.g. 2026-12-01T12:00:00Z',
  )
  .refine((s) => !Number.isNaN(Date.parse(s)), 'must be a valid date')
  .meta({ format: 'date-time' })

export const name = z
  .string()
  .min(1, 'must not be empty')
  .max(256, 'must be at most 256 characters')

/** A page size in a query string: text, so its JSON Schema is said by hand (meta). */
export const limit = z
  .string()
  .regex(/^\d+$/, 'must be an integer from 1 to 1000')
  .transform(Number)
  .refine((n) => n >= 1 && n <= 1000, 'must be an integer from 1 to 1000')
  .default(100)
  .meta({
    description: 'page size, 1-1000',
    type: 'integer',
    minimum: 1,
    maximum: 1000,
    default: 100,
  })

export const cursor = z
  .string()
  .regex(/^[\w-]{1,2048}$/, 'must be a nextCursor returned by this API')
  .meta({ description: 'nextCursor of the previous page' })

export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/** Answer fields: not re-validated by a client beyond their type, so newer engines still parse. */
export const time = z.string().meta({ format: 'date-time' })
export const int = z.number().int()
export const uuid = z.string().meta({ format: 'uuid' })
