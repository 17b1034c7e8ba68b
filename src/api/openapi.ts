/**
 * The OpenAPI 3.1 document of the admin API, served at GET /v1/openapi.json. Its schemas and
 * query parameters are generated from the zod schemas the routes parse with (components.ts);
 * what is written here is only what a schema cannot say: paths, summaries, status codes.
 * test/admin-openapi.test.ts keeps it and the routes in step.
 */
import { componentSchemas, queries, queryParameters, type ComponentName } from './components.js'

const ref = (name: ComponentName) => ({ $ref: `#/components/schemas/${name}` })
const json = (name: ComponentName) => ({ content: { 'application/json': { schema: ref(name) } } })
const error = (description: string) => ({ description, ...json('Error') })
const ok = (description: string, name: ComponentName) => ({ description, ...json(name) })
const authed = { security: [{ bearer: [] }] }
const common = {
  '400': error('invalid_request: a parameter or the body does not validate'),
  '401': error('unauthorized: no or wrong bearer token'),
  '503': error('pipeline_unavailable: the database is not up yet'),
}
const path = (name: string, schema: object = { type: 'string' }) => ({
  name,
  in: 'path',
  required: true,
  schema,
})
const subscriptionId = path('id', { type: 'string', format: 'uuid' })
const deliveryId = path('id', { type: 'string', pattern: '^\\d+$' })
const noSubscription = error('not_found: no such subscription')
/** A subscription's url can be refused by the engine's policy besides not validating. */
const refusedOr400 = error(
  'invalid_request: a field does not validate; destination_refused: the url is on an address ' +
    "the engine's SLUICE_OUTBOUND_ALLOW refuses",
)

const retryDeadLetters = (deprecated: boolean) => ({
  post: {
    summary: deprecated
      ? 'Alias of POST /v1/dead-letters/retry, its former name (kept for scripts)'
      : 'Try dead letters again; each one stored leaves the table',
    ...(deprecated ? { deprecated: true } : {}),
    ...authed,
    requestBody: json('DeadLetterRetryBody'),
    responses: {
      '200': ok('how many were stored, how many failed again', 'DeadLetterRetryResult'),
      ...common,
    },
  },
})

export const openApiDocument = {
  openapi: '3.1.0',
  info: {
    title: 'Sluice admin API',
    version: '1',
    description: 'The operator API of one Sluice node (docs/admin-api.md).',
  },
  components: {
    securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
    schemas: componentSchemas(),
  },
  paths: {
    '/': {
      get: {
        summary: 'The operator web page',
        responses: { '200': { description: 'HTML', content: { 'text/html': {} } } },
      },
    },
    '/v1/openapi.json': {
      get: { summary: 'This document', responses: { '200': { description: 'OpenAPI 3.1' } } },
    },
    '/v1/status': {
      get: {
        summary: 'Readiness, rates and totals',
        ...authed,
        responses: { '200': ok('status', 'Status'), '401': common['401'] },
      },
    },
    '/v1/events': {
      get: {
        summary: 'Stored events, newest first',
        ...authed,
        parameters: queryParameters(queries.events),
        responses: { '200': ok('a page', 'EventPage'), ...common },
      },
    },
    '/v1/events/{source}/{id}': {
      get: {
        summary: 'One event with headers, body and payload',
        ...authed,
        parameters: [path('source'), path('id')],
        responses: {
          '200': ok('the event', 'EventDetail'),
          '404': error('not_found: no such event'),
          ...common,
        },
      },
    },
    '/v1/dead-letters': {
      get: {
        summary: 'Events that could not be stored, most recently failed first',
        ...authed,
        parameters: queryParameters(queries.deadLetters),
        responses: { '200': ok('a page', 'DeadLetterPage'), ...common },
      },
    },
    '/v1/dead-letters/retry': retryDeadLetters(false),
    '/v1/dead-letters/redrive': retryDeadLetters(true),
    '/v1/subscriptions': {
      post: {
        summary: 'Create a subscription, or update the one with the same url, eventTypes, sources',
        ...authed,
        requestBody: json('SubscriptionInput'),
        responses: {
          '200': ok('updated: only the fields given', 'Subscription'),
          '201': ok('created', 'Subscription'),
          ...common,
          '400': refusedOr400,
        },
      },
      get: {
        summary: 'The subscriptions, oldest first',
        ...authed,
        parameters: queryParameters(queries.subscriptions),
        responses: { '200': ok('a page', 'SubscriptionPage'), ...common },
      },
    },
    '/v1/subscriptions/{id}': {
      get: {
        summary: 'One subscription (without its secret)',
        ...authed,
        parameters: [subscriptionId],
        responses: {
          '200': ok('the subscription', 'ListedSubscription'),
          '404': noSubscription,
          ...common,
        },
      },
      patch: {
        summary: 'Change fields, or status active/disabled',
        ...authed,
        parameters: [subscriptionId],
        requestBody: json('SubscriptionPatch'),
        responses: {
          '200': ok('the subscription', 'ListedSubscription'),
          '404': noSubscription,
          '409': error('subscription_conflict: another has this url, eventTypes and sources'),
          ...common,
          '400': refusedOr400,
        },
      },
      delete: {
        summary: 'Delete it; its pending deliveries are cancelled',
        ...authed,
        parameters: [subscriptionId],
        responses: { '204': { description: 'deleted' }, '404': noSubscription, ...common },
      },
    },
    '/v1/subscriptions/{id}/rotate-secret': {
      post: {
        summary: 'A new secret; the previous one keeps signing for graceSeconds (default 86400)',
        ...authed,
        parameters: [subscriptionId],
        requestBody: json('RotateSecretBody'),
        responses: {
          '200': ok('with the new secret', 'Subscription'),
          '404': noSubscription,
          ...common,
        },
      },
    },
    '/v1/subscriptions/{id}/deliveries': {
      get: {
        summary: "A subscription's deliveries, newest first",
        ...authed,
        parameters: [subscriptionId, ...queryParameters(queries.deliveries)],
        responses: { '200': ok('a page', 'DeliveryPage'), '404': noSubscription, ...common },
      },
    },
    '/v1/deliveries/{id}': {
      get: {
        summary: 'One delivery with every attempt',
        ...authed,
        parameters: [deliveryId],
        responses: {
          '200': ok('the delivery', 'DeliveryDetail'),
          '404': error('not_found: no such delivery'),
          ...common,
        },
      },
    },
    '/v1/deliveries/{id}/retry': {
      post: {
        summary: 'Attempt it again now (a pending or failed one)',
        ...authed,
        parameters: [deliveryId],
        responses: {
          '200': ok('the delivery, due now', 'Delivery'),
          '404': error('not_found: no such delivery'),
          '409': error(
            'delivery_not_retryable: it succeeded, was cancelled, or its subscription was deleted; ' +
              'subscription_disabled: its subscription is disabled (enable it first); ' +
              'delivery_waiting: it waits for the delivery before it of its ordering key',
          ),
          ...common,
        },
      },
    },
    '/v1/replay': {
      post: {
        summary: 'Deliver matching stored events again, as new deliveries',
        ...authed,
        requestBody: json('ReplayBody'),
        responses: {
          '200': ok('deliveries made (or that would be, for a dry run)', 'ReplayResult'),
          ...common,
        },
      },
    },
  },
}
