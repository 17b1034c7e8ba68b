import { z } from 'zod'
import { int, time, uuid } from './fields.js'
import { deliveryStatus } from './requests.js'

/**
 * What the admin API answers. Objects are plain z.object: the types (z.infer) are exact, a
 * client parsing an answer keeps the fields named here, and the OpenAPI document leaves them
 * open (additionalProperties unset) so that a new field is an extension. The readiness checks
 * are loose: "extra fields are shown as is" (src/server/probes.ts).
 */

export const apiError = z.object({
  status: z.literal('error'),
  error: z.string().meta({ description: 'a stable code (docs/errors.md)' }),
  message: z.string(),
})

/** A page of items, newest or oldest first as the route says; nextCursor null on the last. */
export const pageOf = <T extends z.ZodType>(item: T) =>
  z.object({ data: z.array(item), nextCursor: z.string().nullable() })

export const eventSummary = z.object({
  source: z.string(),
  id: z.string(),
  type: z.string().nullable(),
  receivedAt: time,
  processedAt: time,
  verifiedBy: z.string().nullable(),
  contentType: z.string().nullable(),
  bytes: int,
})

export const delivery = z.object({
  id: z.string().meta({ description: 'a bigint, as a string' }),
  subscriptionId: uuid,
  source: z.string(),
  eventId: z.string(),
  generation: int.meta({
    description: '0 for the first fan-out; each replay one number of its own, increasing',
  }),
  status: deliveryStatus,
  attempts: int,
  nextAttemptAt: time.nullable().meta({ description: 'when due; null while attempted or done' }),
  inFlight: z.boolean().meta({ description: 'an attempt is under way on some node' }),
  lastStatus: int.nullable(),
  lastError: z.string().nullable(),
  createdAt: time,
  completedAt: time.nullable(),
  orderingKey: z
    .string()
    .nullable()
    .meta({ description: "the event's value at the ordering pointer (JSON text)" }),
  waitingFor: z.string().nullable().meta({ description: 'the delivery of its key it waits for' }),
})

export const eventDetail = eventSummary.extend({
  headers: z.record(z.string(), z.string()),
  body: z.string().meta({ contentEncoding: 'base64' }),
  payload: z.unknown(),
  deliveries: z.array(delivery),
})

export const deadLetter = z.object({
  source: z.string(),
  id: z.string(),
  reason: z.enum(['attempts_exhausted', 'invalid_event', 'undecodable_message']),
  attempts: int,
  lastError: z.string(),
  firstFailedAt: time,
  lastFailedAt: time,
  receivedAt: time,
  contentType: z.string(),
  bytes: int,
})

/** POST /v1/dead-letters/retry: how many were stored, how many failed again. */
export const deadLetterRetryResult = z.object({ count: int, failed: int })

export const deliveryAttempt = z.object({
  attempt: int,
  attemptedAt: time,
  durationMs: int,
  statusCode: int.nullable(),
  error: z.string().nullable().meta({ description: 'the error class; null for a 2xx' }),
  message: z.string().nullable(),
  responseExcerpt: z
    .string()
    .nullable()
    .meta({ description: 'the first 64 KiB of the response body' }),
  responseTruncated: z.boolean(),
  node: z.string(),
  probe: z.boolean().meta({ description: 'a probe of a paused subscription' }),
})

export const deliveryDetail = delivery.extend({
  url: z.string(),
  attemptLog: z.array(deliveryAttempt),
})

export const replayResult = z.object({ count: int, dryRun: z.boolean() })
