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

/** The deliveries and replay part of the OpenAPI document (src/admin/delivery-routes.ts). */

const deliveryId = { name: 'id', in: 'path', required: true, schema: { ...str, pattern: '^\\d+$' } }
const statusEnum = { enum: ['pending', 'succeeded', 'failed', 'cancelled'] }

const delivery = {
  type: 'object',
  required: ['id', 'subscriptionId', 'source', 'eventId', 'generation', 'status', 'attempts'],
  properties: {
    id: { ...str, description: 'a bigint, as a string' },
    subscriptionId: { ...str, format: 'uuid' },
    source: str,
    eventId: str,
    generation: {
      ...int,
      description: '0 for the first fan-out; each replay one number of its own, increasing',
    },
    status: statusEnum,
    attempts: int,
    nextAttemptAt: nullable(iso),
    inFlight: { type: 'boolean', description: 'an attempt is under way on some node' },
    lastStatus: nullable(int),
    lastError: nullable(str),
    createdAt: iso,
    completedAt: nullable(iso),
    orderingKey: nullable({ ...str, description: "the event's value at the ordering pointer" }),
    waitingFor: nullable({ ...str, description: 'the delivery of its key it waits for' }),
  },
}

export const deliverySchemas = {
  Delivery: delivery,
  DeliveryDetail: {
    allOf: [
      delivery,
      {
        type: 'object',
        required: ['url', 'attemptLog'],
        properties: {
          url: str,
          attemptLog: { type: 'array', items: ref('DeliveryAttempt') },
        },
      },
    ],
  },
  DeliveryAttempt: {
    type: 'object',
    required: ['attempt', 'attemptedAt', 'durationMs', 'statusCode', 'error', 'node'],
    properties: {
      attempt: int,
      attemptedAt: iso,
      durationMs: int,
      statusCode: nullable(int),
      error: nullable({ ...str, description: 'the error class; null for a 2xx' }),
      message: nullable(str),
      responseExcerpt: nullable({ ...str, description: 'the first 64 KiB of the response body' }),
      responseTruncated: { type: 'boolean' },
      node: str,
      probe: { type: 'boolean', description: 'a probe of a paused subscription' },
    },
  },
  SubscriptionDelivery: {
    type: 'object',
    description: 'pending and failed from Postgres; inFlight and flow are this node',
    required: ['pending', 'failed', 'inFlight', 'breaker', 'failingSince', 'lastSuccessAt', 'flow'],
    properties: {
      pending: int,
      failed: int,
      inFlight: int,
      breaker: { enum: ['closed', 'open'], description: 'kept for scripts: open while paused' },
      failingSince: nullable(iso),
      lastSuccessAt: nullable(iso),
      flow: ref('SubscriptionFlow'),
    },
  },
  SubscriptionFlow: {
    type: 'object',
    description: 'flow control: the pause from Postgres (every node), the rest this node',
    required: ['state', 'inFlightLimit', 'consecutiveFailures', 'pausedAt', 'nextProbeAt'],
    properties: {
      state: { enum: ['normal', 'narrowed', 'held', 'paused'] },
      inFlightLimit: { ...int, description: 'attempts this node may have in flight now' },
      consecutiveFailures: {
        ...int,
        description: 'attempts in a row that met congestion (no answer, 5xx, 429)',
      },
      congestedSince: nullable({ ...iso, description: 'when that run began' }),
      pausedAt: nullable(iso),
      nextProbeAt: nullable(iso),
      heldUntil: nullable({ ...iso, description: "a receiver's Retry-After holds new attempts" }),
    },
  },
  DeliveriesStatus: {
    type: 'object',
    description:
      'Outbound delivery at a glance. The counts come from Postgres (every node of one database ' +
      'sees the same), counted every 5 s, null until the first count; the rates are this node ' +
      "dispatcher's over the last minute.",
    required: [
      'pending',
      'oldestPendingSeconds',
      'deliveredPerSecond',
      'failedPerSecond',
      'failingSubscriptions',
      'pausedSubscriptions',
      'disabledSubscriptions',
    ],
    properties: {
      pending: nullable({
        ...int,
        description: 'pending deliveries of active subscriptions, exact up to 100000',
      }),
      oldestPendingSeconds: nullable({
        ...int,
        description: 'age of the oldest of them since it was created; 0 when none',
      }),
      deliveredPerSecond: { type: 'number', description: 'deliveries that succeeded' },
      failedPerSecond: { type: 'number', description: 'delivery attempts that failed' },
      failingSubscriptions: nullable({
        ...int,
        description: 'active, with failed attempts since their last success, not paused',
      }),
      pausedSubscriptions: nullable({ ...int, description: 'active and paused by flow control' }),
      disabledSubscriptions: nullable(int),
    },
  },
}

export const deliveryPaths = {
  '/v1/subscriptions/{id}/deliveries': {
    get: {
      summary: "A subscription's deliveries, newest first",
      ...authed,
      parameters: [idParam, q('status', 'pending, succeeded, failed or cancelled'), limit, cursor],
      responses: {
        '200': { description: 'a page', ...json(list('Delivery')) },
        '404': error('not_found: no such subscription'),
        ...common,
      },
    },
  },
  '/v1/deliveries/{id}': {
    get: {
      summary: 'One delivery with every attempt',
      ...authed,
      parameters: [deliveryId],
      responses: {
        '200': { description: 'the delivery', ...json(ref('DeliveryDetail')) },
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
        '200': { description: 'the delivery, due now', ...json(ref('Delivery')) },
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
      requestBody: json({
        type: 'object',
        additionalProperties: false,
        properties: {
          source: str,
          type: str,
          since: { ...iso, description: 'receivedAt >=' },
          until: { ...iso, description: 'receivedAt <' },
          subscriptionId: { ...str, format: 'uuid' },
          all: { type: 'boolean', description: 'true: every stored event (no filter needed)' },
          dryRun: { type: 'boolean', description: 'count only' },
        },
        description:
          'at least one of source, type, since, until, subscriptionId, or "all": true (else 400)',
      }),
      responses: {
        '200': {
          description: 'deliveries made (or that would be, for a dry run)',
          ...json({
            type: 'object',
            required: ['count', 'dryRun'],
            properties: { count: int, dryRun: { type: 'boolean' } },
          }),
        },
        ...common,
      },
    },
  },
}
