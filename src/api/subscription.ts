import { z } from 'zod'
import { int, time, uuid } from './fields.js'

/** A subscription as the admin API answers it (the input side is subscription-input.ts). */

/** Flow control: the pause from Postgres (every node), the rest this node's lane. */
export const subscriptionFlow = z
  .object({
    state: z.enum(['normal', 'narrowed', 'held', 'paused']),
    inFlightLimit: int.meta({ description: 'attempts this node may have in flight now' }),
    consecutiveFailures: int.meta({
      description: 'attempts in a row that met congestion (no answer, 5xx, 429)',
    }),
    congestedSince: time.nullable().meta({ description: 'when that run began' }),
    pausedAt: time.nullable(),
    nextProbeAt: time.nullable(),
    heldUntil: time.nullable().meta({ description: "a receiver's Retry-After holds new attempts" }),
  })
  .meta({ description: 'flow control: the pause from Postgres (every node), the rest this node' })

export const subscriptionDelivery = z
  .object({
    pending: int,
    failed: int,
    inFlight: int,
    breaker: z
      .enum(['closed', 'open'])
      .meta({ description: 'kept for scripts: open while paused' }),
    failingSince: time.nullable(),
    lastSuccessAt: time.nullable(),
    flow: subscriptionFlow,
  })
  .meta({ description: 'pending and failed from Postgres; inFlight and flow are this node' })

export const subscription = z.object({
  id: uuid,
  url: z.string(),
  eventTypes: z.array(z.string()).nullable(),
  sources: z.array(z.string()).nullable(),
  headers: z.record(z.string(), z.string()),
  payload: z.record(z.string(), z.unknown()).nullable(),
  rateLimit: z.object({ perSecond: z.number(), burst: int }).nullable(),
  maxInFlight: int,
  description: z.string().nullable(),
  filter: z
    .record(z.string(), z.unknown())
    .nullable()
    .meta({ description: 'matched against the JSON body' }),
  ordering: z
    .object({ key: z.string().meta({ description: 'a JSON pointer into the body' }) })
    .nullable(),
  status: z.enum(['active', 'disabled']),
  disabledReason: z.string().nullable(),
  createdAt: time,
  updatedAt: time,
  secret: z
    .string()
    .optional()
    .meta({ description: 'only when made or given: on create, an update giving one, and rotate' }),
  /** Absent from the answers of create, update-by-POST and rotate. */
  delivery: subscriptionDelivery.optional(),
})

/** A subscription as read or listed: with its delivery health. */
export const listedSubscription = subscription.extend({ delivery: subscriptionDelivery })
