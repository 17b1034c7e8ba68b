import { z } from 'zod'
import { int, time } from './fields.js'

/**
 * GET /v1/status. The readiness checks are loose objects: each shows what its component
 * reports, and any of them may be only { ok, error }: the journal's when its stats could not be
 * read, the broker's and the database's while the pipeline thread is starting, restarting or
 * not answering (src/pipeline/pipeline-thread.ts); and when the readiness function itself
 * failed there is a `readiness` check instead of the broker's and the database's
 * (src/server/probes.ts). So only `ok` is required of a check.
 */

const check = z.looseObject({
  ok: z.boolean(),
  code: z.string().optional(),
  error: z.string().optional(),
  hint: z.string().optional(),
  since: z.string().nullable().optional(),
})

export const statusChecks = z.looseObject({
  accepting: check,
  journal: check.extend({
    state: z.string().optional(),
    backlog: int.optional(),
    oldestPendingAgeMs: int.nullable().optional(),
  }),
  broker: check
    .extend({
      name: z.string().optional(),
      state: z.string().optional(),
      forwarder: z.string().optional(),
      consecutiveFailures: int.optional(),
      lastError: z.string().nullable().optional(),
    })
    .optional(),
  database: check
    .extend({
      state: z.string().optional(),
      consuming: z.boolean().optional(),
      embedded: z.boolean().optional(),
      pingError: z.string().optional(),
    })
    .optional(),
  /** Only when the readiness function itself failed: its error. */
  readiness: check.optional(),
  /** The outbound dispatcher's claims and result writes; absent from older engines. */
  dispatcher: check
    .extend({
      state: z.string().optional(),
      listening: z.boolean().nullable().optional(),
      lastError: z.string().nullable().optional(),
    })
    .optional(),
})

export const deliveriesStatus = z
  .object({
    pending: int
      .nullable()
      .meta({ description: 'pending deliveries of active subscriptions, exact up to 100000' }),
    oldestPendingSeconds: int
      .nullable()
      .meta({ description: 'age of the oldest of them since it was created; 0 when none' }),
    deliveredPerSecond: z.number().meta({ description: 'deliveries that succeeded' }),
    failedPerSecond: z.number().meta({ description: 'delivery attempts that failed' }),
    failingSubscriptions: int.nullable().meta({
      description: 'active, with failed attempts since their last success, not paused',
    }),
    pausedSubscriptions: int.nullable().meta({ description: 'active and paused by flow control' }),
    disabledSubscriptions: int.nullable(),
  })
  .meta({
    description:
      'Outbound delivery at a glance. The counts come from Postgres (every node of one database ' +
      'sees the same), counted every 5 s, null until the first count; the rates are this node ' +
      "dispatcher's over the last minute.",
  })

export const ratePoint = z.object({ at: time, received: z.number(), stored: z.number() })

export const status = z.object({
  status: z.enum(['ready', 'not_ready']),
  version: z.string(),
  node: z.object({ hostname: z.string(), pid: int, startedAt: time, uptimeSeconds: int }),
  checks: statusChecks,
  rates: z.looseObject({
    windowSeconds: int,
    receivedPerSecond: z.number(),
    storedPerSecond: z.number(),
    deliveredPerSecond: z.number(),
    failedPerSecond: z.number(),
  }),
  totals: z.looseObject({
    received: z.number(),
    stored: z.number(),
    failed: z.number(),
    delivered: z.number(),
    failedAttempts: z.number(),
  }),
  history: z.object({ intervalSeconds: int, points: z.array(ratePoint) }),
  deadLetters: int.nullable(),
  deliveries: deliveriesStatus,
})
