import { z } from 'zod'
import { cursor, iso, limit, name, UUID } from './fields.js'

/** Query strings and bodies of the admin API's routes (docs/admin-api.md). */

export const eventsQuery = z.strictObject({
  source: name.optional().meta({ description: 'exact source name' }),
  type: name.optional().meta({ description: 'exact event type' }),
  since: iso.optional().meta({ description: 'receivedAt >= (ISO 8601)' }),
  until: iso.optional().meta({ description: 'receivedAt < (ISO 8601)' }),
  limit,
  cursor: cursor.optional(),
})

export const deadLettersQuery = z.strictObject({
  source: name.optional().meta({ description: 'exact source name' }),
  limit,
  cursor: cursor.optional(),
})

/** POST /v1/dead-letters/retry (and its alias /redrive): the letters, or {} for all. */
export const deadLetterRetryBody = z.strictObject({
  ids: z
    .array(z.strictObject({ source: name, id: name }))
    .min(1, 'must name at least one dead letter; send {} to retry all')
    .max(1000, 'must name at most 1000 dead letters')
    .optional(),
})

export const subscriptionsQuery = z.strictObject({
  status: z
    .enum(['active', 'disabled'], { message: "must be 'active' or 'disabled'" })
    .optional()
    .meta({ description: 'active or disabled' }),
  limit,
  cursor: cursor.optional(),
})

export const deliveryStatus = z.enum(['pending', 'succeeded', 'failed', 'cancelled'], {
  message: "must be 'pending', 'succeeded', 'failed' or 'cancelled'",
})

export const deliveriesQuery = z.strictObject({
  status: deliveryStatus
    .optional()
    .meta({ description: 'pending, succeeded, failed or cancelled' }),
  limit,
  cursor: cursor.optional(),
})

/** A body that must be empty (or absent): POST /v1/deliveries/:id/retry. */
export const emptyBody = z.strictObject({})

export const REPLAY_FILTERS = ['source', 'type', 'since', 'until', 'subscriptionId'] as const

export const replayBody = z
  .strictObject({
    source: name.optional(),
    type: name.optional(),
    since: iso.optional().meta({ description: 'receivedAt >=' }),
    until: iso.optional().meta({ description: 'receivedAt <' }),
    subscriptionId: z
      .string()
      .regex(UUID, 'must be a subscription id')
      .optional()
      .meta({ format: 'uuid' }),
    dryRun: z.boolean({ message: 'must be true or false' }).optional().meta({
      description: 'count only',
    }),
    /** Says that every stored event is meant; beside filters it changes nothing. */
    all: z
      .boolean({ message: 'must be true or false' })
      .optional()
      .meta({ description: 'true: every stored event (no filter needed)' }),
  })
  .refine((b) => !b.since || !b.until || Date.parse(b.since) < Date.parse(b.until), {
    path: ['since'],
    message: 'must be before until',
  })
  // An empty body once re-sent every stored event: no filter has to be said out loud.
  .refine(
    (b) => b.all === true || REPLAY_FILTERS.some((k) => b[k] !== undefined),
    `must name at least one of ${REPLAY_FILTERS.join(', ')}, or "all": true to replay every stored event`,
  )
  .meta({
    description:
      'at least one of source, type, since, until, subscriptionId, or "all": true (else 400)',
  })

export type EventsQuery = z.input<typeof eventsQuery>
export type DeadLettersQuery = z.input<typeof deadLettersQuery>
export type DeadLetterRetryBody = z.infer<typeof deadLetterRetryBody>
export type SubscriptionsQuery = z.input<typeof subscriptionsQuery>
export type DeliveriesQuery = z.input<typeof deliveriesQuery>
export type ReplayBody = z.infer<typeof replayBody>
