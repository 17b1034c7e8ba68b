/**
 * The OpenAPI 3.1 document of the admin API, served at GET /v1/openapi.json. Written by hand
 * next to the routes; test/admin-openapi.test.ts keeps the two in step (every route documented,
 * every documented route answered, documented status codes returned).
 */
import { deliveryPaths, deliverySchemas } from './openapi-deliveries.js'
import {
  authed,
  common,
  cursor,
  error,
  idParam,
  int,
  iso,
  json,
  limit,
  list,
  nullable,
  q,
  ref,
  str,
} from './openapi-parts.js'

/** A subscription's url can be refused by the engine's policy besides not validating. */
const refusedOr400 = error(
  'invalid_request: a field does not validate; destination_refused: the url is on an address ' +
    "the engine's SLUICE_OUTBOUND_ALLOW refuses",
)

const eventSummary = {
  type: 'object',
  required: ['source', 'id', 'receivedAt', 'processedAt', 'bytes'],
  properties: {
    source: str,
    id: str,
    type: nullable(str),
    receivedAt: iso,
    processedAt: iso,
    verifiedBy: nullable(str),
    contentType: nullable(str),
    bytes: int,
  },
}

export const openApiDocument = {
  openapi: '3.1.0',
  info: {
    title: 'Sluice admin API',
    version: '1',
    description: 'The operator API of one Sluice node (docs/admin-api.md).',
  },
  components: {
    securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
    schemas: {
      Error: {
        type: 'object',
        required: ['status', 'error', 'message'],
        properties: { status: { const: 'error' }, error: str, message: str },
      },
      EventSummary: eventSummary,
      EventDetail: {
        allOf: [
          eventSummary,
          {
            type: 'object',
            required: ['headers', 'body', 'payload', 'deliveries'],
            properties: {
              headers: { type: 'object', additionalProperties: str },
              body: { ...str, contentEncoding: 'base64' },
              payload: {},
              deliveries: { type: 'array', items: ref('Delivery') },
            },
          },
        ],
      },
      DeadLetter: {
        type: 'object',
        required: ['source', 'id', 'reason', 'attempts', 'lastError', 'lastFailedAt'],
        properties: {
          source: str,
          id: str,
          reason: str,
          attempts: int,
          lastError: str,
          firstFailedAt: iso,
          lastFailedAt: iso,
          receivedAt: iso,
          contentType: str,
          bytes: int,
        },
      },
      Subscription: {
        type: 'object',
        required: ['id', 'url', 'eventTypes', 'sources', 'headers', 'maxInFlight', 'status'],
        properties: {
          id: { ...str, format: 'uuid' },
          url: str,
          eventTypes: nullable({ type: 'array', items: str }),
          sources: nullable({ type: 'array', items: str }),
          headers: { type: 'object', additionalProperties: str },
          payload: nullable({ type: 'object' }),
          rateLimit: nullable({ type: 'object' }),
          maxInFlight: int,
          description: nullable(str),
          filter: nullable({ type: 'object', description: 'matched against the JSON body' }),
          ordering: nullable({
            type: 'object',
            required: ['key'],
            properties: { key: { ...str, description: 'a JSON pointer into the body' } },
          }),
          status: { enum: ['active', 'disabled'] },
          disabledReason: nullable(str),
          createdAt: iso,
          updatedAt: iso,
          secret: {
            ...str,
            description: 'only when made or given: on create, an update giving one, and rotate',
          },
          delivery: ref('SubscriptionDelivery'),
        },
      },
      SubscriptionInput: {
        type: 'object',
        additionalProperties: false,
        required: ['url'],
        properties: {
          url: { ...str, format: 'uri' },
          eventTypes: { type: 'array', items: str, minItems: 1 },
          sources: { type: 'array', items: str, minItems: 1 },
          headers: { type: 'object', additionalProperties: str },
          payload: { type: 'object' },
          secret: { ...str, pattern: '^whsec_' },
          rateLimit: {
            type: 'object',
            required: ['perSecond', 'burst'],
            properties: { perSecond: { type: 'number' }, burst: int },
          },
          maxInFlight: { ...int, minimum: 1, maximum: 1000 },
          description: str,
          filter: {
            type: 'object',
            description:
              'dotted paths or $and/$or/$not; values are literals or $eq, $ne, $gt, $gte, $lt, ' +
              '$lte, $in, $nin, $exists, $prefix (docs/outbound.md)',
          },
          ordering: {
            type: 'object',
            additionalProperties: false,
            required: ['key'],
            properties: { key: { ...str, pattern: '^/' } },
          },
          status: {
            enum: ['active', 'disabled'],
            description: 'PATCH only; active also resumes a paused subscription',
          },
        },
      },
      ...deliverySchemas,
      Status: {
        type: 'object',
        required: ['status', 'version', 'checks', 'rates', 'totals', 'history', 'deliveries'],
        properties: {
          status: { enum: ['ready', 'not_ready'] },
          version: str,
          node: { type: 'object' },
          checks: { type: 'object', additionalProperties: { type: 'object' } },
          rates: { type: 'object' },
          totals: { type: 'object' },
          history: { type: 'object' },
          deadLetters: nullable(int),
          deliveries: ref('DeliveriesStatus'),
        },
      },
    },
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
        responses: {
          '200': { description: 'status', ...json(ref('Status')) },
          '401': common['401'],
        },
      },
    },
    '/v1/events': {
      get: {
        summary: 'Stored events, newest first',
        ...authed,
        parameters: [
          q('source', 'exact source name'),
          q('type', 'exact event type'),
          q('since', 'receivedAt >= (ISO 8601)', iso),
          q('until', 'receivedAt < (ISO 8601)', iso),
          limit,
          cursor,
        ],
        responses: { '200': { description: 'a page', ...json(list('EventSummary')) }, ...common },
      },
    },
    '/v1/events/{source}/{id}': {
      get: {
        summary: 'One event with headers, body and payload',
        ...authed,
        parameters: ['source', 'id'].map((name) => ({
          name,
          in: 'path',
          required: true,
          schema: str,
        })),
        responses: {
          '200': { description: 'the event', ...json(ref('EventDetail')) },
          '404': error('not_found: no such event'),
          ...common,
        },
      },
    },
    '/v1/dead-letters': {
      get: {
        summary: 'Events that could not be stored, most recently failed first',
        ...authed,
        parameters: [q('source', 'exact source name'), limit, cursor],
        responses: { '200': { description: 'a page', ...json(list('DeadLetter')) }, ...common },
      },
    },
    '/v1/dead-letters/redrive': {
      post: {
        summary: 'Process dead letters again; each one stored leaves the table',
        ...authed,
        requestBody: json({
          type: 'object',
          additionalProperties: false,
          properties: {
            ids: {
              type: 'array',
              minItems: 1,
              maxItems: 1000,
              items: {
                type: 'object',
                required: ['source', 'id'],
                additionalProperties: false,
                properties: { source: str, id: str },
              },
            },
          },
        }),
        responses: {
          '200': {
            description: 'how many were stored, how many failed again',
            ...json({
              type: 'object',
              required: ['count', 'failed'],
              properties: { count: int, failed: int },
            }),
          },
          ...common,
        },
      },
    },
    '/v1/subscriptions': {
      post: {
        summary: 'Create a subscription, or update the one with the same url, eventTypes, sources',
        ...authed,
        requestBody: json(ref('SubscriptionInput')),
        responses: {
          '200': { description: 'updated: only the fields given', ...json(ref('Subscription')) },
          '201': { description: 'created', ...json(ref('Subscription')) },
          ...common,
          '400': refusedOr400,
        },
      },
      get: {
        summary: 'The subscriptions, oldest first',
        ...authed,
        parameters: [q('status', 'active or disabled'), limit, cursor],
        responses: { '200': { description: 'a page', ...json(list('Subscription')) }, ...common },
      },
    },
    '/v1/subscriptions/{id}': {
      get: {
        summary: 'One subscription (without its secret)',
        ...authed,
        parameters: [idParam],
        responses: {
          '200': { description: 'the subscription', ...json(ref('Subscription')) },
          '404': error('not_found: no such subscription'),
          ...common,
        },
      },
      patch: {
        summary: 'Change fields, or status active/disabled',
        ...authed,
        parameters: [idParam],
        requestBody: json(ref('SubscriptionInput')),
        responses: {
          '200': { description: 'the subscription', ...json(ref('Subscription')) },
          '404': error('not_found: no such subscription'),
          '409': error('subscription_conflict: another has this url, eventTypes and sources'),
          ...common,
          '400': refusedOr400,
        },
      },
      delete: {
        summary: 'Delete it; its pending deliveries are cancelled',
        ...authed,
        parameters: [idParam],
        responses: {
          '204': { description: 'deleted' },
          '404': error('not_found: no such subscription'),
          ...common,
        },
      },
    },
    '/v1/subscriptions/{id}/rotate-secret': {
      post: {
        summary: 'A new secret; the previous one keeps signing for graceSeconds (default 86400)',
        ...authed,
        parameters: [idParam],
        requestBody: json({
          type: 'object',
          additionalProperties: false,
          properties: { graceSeconds: { ...int, minimum: 0 } },
        }),
        responses: {
          '200': { description: 'with the new secret', ...json(ref('Subscription')) },
          '404': error('not_found: no such subscription'),
          ...common,
        },
      },
    },
    ...deliveryPaths,
  },
} as const
