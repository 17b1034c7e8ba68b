import type { Component } from '../component.js'
import type { WebhookEvent } from '../event.js'

/**
 * Broker adapters: a Publisher and a Subscriber (after Watermill's two-method interfaces).
 * Semantics are at-least-once everywhere: duplicates are allowed, loss is not. Adapters carry
 * messages and count deliveries; how often to retry and when to give up is the consumer's
 * decision (src/consumer/), and dead letters live in Postgres, not in the broker.
 */

export interface BrokerFeatures {
  /** Largest event (body + headers + metadata) the broker carries, in bytes. */
  maxEventBytes: number
}

export interface Publisher {
  /**
   * Publish a batch. Resolves with one boolean per event: true when the broker confirmed it
   * (persisted), false when it must be published again. Rejects when the broker is unreachable;
   * then nothing in the batch may be considered confirmed.
   */
  publish(events: readonly WebhookEvent[]): Promise<boolean[]>
}

export interface Delivery {
  readonly event: WebhookEvent
  /**
   * 1 on first delivery; counts every delivery of the event, including those whose consumer
   * died before settling them, so the consumer can stop a crash loop. Classic RabbitMQ queues
   * only flag a redelivery: there it is at most one more than the retries.
   */
  readonly attempt: number
  /**
   * Set when the message was not written by Sluice and cannot be decoded: `event` then holds
   * the raw body under source `unknown` and an id derived from the message.
   */
  readonly malformed?: string
  /** Remove the message: call only after its effects are committed. */
  ack(): Promise<void>
  /** Deliver again, not before delayMs, with attempt + 1. */
  retry(delayMs: number): Promise<void>
}

export interface SubscribeOptions {
  /** Unacked deliveries in flight at most. */
  prefetch: number
}

export interface Subscriber {
  /** Start delivering; the handler must eventually ack or retry each delivery. */
  subscribe(handler: (delivery: Delivery) => void, options: SubscribeOptions): Promise<void>
}

export type BrokerState = 'connecting' | 'up' | 'down' | 'closed'

export interface Broker extends Publisher, Subscriber, Component {
  readonly name: 'local' | 'rabbitmq' | 'sqs'
  readonly features: BrokerFeatures
  /** Connect and declare queues. Resolves once usable or rejects; reconnection after that is the adapter's job. */
  start(): Promise<void>
  state(): BrokerState
  /** Stop consuming and publishing; unacked deliveries return to the queue. Idempotent. */
  close(): Promise<void>
}

/**
 * Optional: an adapter whose earlier versions kept dead letters in the broker (Sluice 0.1: the
 * local `dead` table, RabbitMQ `<queue>.dlq`, an SQS DLQ) hands them over once, so they move
 * into Postgres. `take` must commit them before the adapter removes them from the broker.
 */
export interface LegacyDeadLetterSource {
  drainLegacyDeadLetters(take: (letters: LegacyDeadLetter[]) => Promise<void>): Promise<number>
}

/**
 * Optional: an adapter that can tell the oldest event it holds for this node (the local queue,
 * whose every message is this node's), for the ordering watermark (src/pipeline/watermark.ts).
 */
export interface HeldEvents {
  /** Receipt time of the oldest event not yet acked; null when it holds none. */
  oldestHeldAt(): number | null
}

export interface LegacyDeadLetter {
  event: WebhookEvent
  attempts: number
  error: string
  /** True for a message that was dead-lettered because it could not be decoded. */
  malformed: boolean
}

export const hasLegacyDeadLetters = (b: Broker): b is Broker & LegacyDeadLetterSource =>
  typeof (b as Partial<LegacyDeadLetterSource>).drainLegacyDeadLetters === 'function'
