import { z } from 'zod'
import {
  deadLetterRetryBody,
  deadLettersQuery,
  deliveriesQuery,
  eventsQuery,
  replayBody,
  subscriptionsQuery,
} from './requests.js'
import {
  apiError,
  deadLetter,
  deadLetterRetryResult,
  delivery,
  deliveryAttempt,
  deliveryDetail,
  eventDetail,
  eventSummary,
  pageOf,
  replayResult,
} from './responses.js'
import { deliveriesStatus, status, statusChecks } from './status.js'
import {
  listedSubscription,
  subscription,
  subscriptionDelivery,
  subscriptionFlow,
} from './subscription.js'
import { rotateBody, subscriptionCreate, subscriptionPatch } from './subscription-input.js'

/**
 * The named shapes of the admin API: the OpenAPI document's components/schemas, the operator
 * page's type names (src/admin/ui/api-types.d.ts) and the client's parsers, all from this map.
 */
export const components = {
  Error: apiError,
  EventSummary: eventSummary,
  EventDetail: eventDetail,
  EventPage: pageOf(eventSummary),
  DeadLetter: deadLetter,
  DeadLetterPage: pageOf(deadLetter),
  DeadLetterRetryBody: deadLetterRetryBody,
  DeadLetterRetryResult: deadLetterRetryResult,
  Subscription: subscription,
  ListedSubscription: listedSubscription,
  SubscriptionPage: pageOf(listedSubscription),
  SubscriptionInput: subscriptionCreate,
  SubscriptionPatch: subscriptionPatch,
  RotateSecretBody: rotateBody,
  SubscriptionDelivery: subscriptionDelivery,
  SubscriptionFlow: subscriptionFlow,
  Delivery: delivery,
  DeliveryPage: pageOf(delivery),
  DeliveryDetail: deliveryDetail,
  DeliveryAttempt: deliveryAttempt,
  ReplayBody: replayBody,
  ReplayResult: replayResult,
  StatusChecks: statusChecks,
  DeliveriesStatus: deliveriesStatus,
  Status: status,
} satisfies Record<string, z.ZodType>

export type ComponentName = keyof typeof components

/** The query strings of the GET routes, turned into OpenAPI parameters by openapi.ts. */
export const queries = {
  events: eventsQuery,
  deadLetters: deadLettersQuery,
  subscriptions: subscriptionsQuery,
  deliveries: deliveriesQuery,
}

export type JsonSchema = { [k: string]: unknown }

const SAFE = Number.MAX_SAFE_INTEGER

/**
 * JSON Schema (2020-12, as OpenAPI 3.1 takes it) of every component, referring to each other
 * by #/components/schemas/<name>. Input mode: a request's strict object says
 * additionalProperties false, an answer's object stays open for new fields.
 */
export function componentSchemas(): Record<ComponentName, JsonSchema> {
  const registry = z.registry<{ id: string }>()
  for (const [id, schema] of Object.entries(components)) registry.add(schema, { id })
  const { schemas } = z.toJSONSchema(registry, {
    io: 'input',
    uri: (id) => `#/components/schemas/${id}`,
  })
  return JSON.parse(JSON.stringify(schemas), (key, value: unknown) => {
    if (key === '$schema' || key === '$id') return undefined
    // z.int()'s bounds are JavaScript's safe integers: true of every number here, so noise.
    if ((key === 'minimum' && value === -SAFE) || (key === 'maximum' && value === SAFE)) {
      return undefined
    }
    return value
  }) as Record<ComponentName, JsonSchema>
}

/** A query schema as OpenAPI parameters (every one optional: defaults apply). */
export function queryParameters(schema: z.ZodObject): JsonSchema[] {
  const json = z.toJSONSchema(schema, { io: 'input' }) as {
    properties?: Record<string, JsonSchema>
  }
  return Object.entries(json.properties ?? {}).map(([name, s]) => {
    const { description, ...rest } = s
    // A number in a query string is text that must be digits: the integer type says that.
    if (rest.type === 'integer') delete rest.pattern
    // Input mode leaves a default out (the input may omit it); a parameter documents it.
    const field = (schema.shape as Record<string, z.ZodType | undefined>)[name]
    if (field instanceof z.ZodDefault) rest.default = field.def.defaultValue
    return { name, in: 'query', required: false, description, schema: rest }
  })
}
