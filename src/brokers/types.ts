import type { WebhookEvent } from '../event.js'

/**
 * Broker adapters: a Publisher, a Subscriber and, as a separate optional interface, a
 * DeadLetterQueue. Semantics are at-least-once everywhere: duplicates are allowed, loss is not.
 */

export interface BrokerFeatures {
  /** Largest event (body + headers + metadata) the broker carries, in bytes. */
  maxEventBytes: number
  /** True when the broker itself dead-letters after too many deliveries (quorum delivery-limit, SQS redrive). */
  nativeRedrive: boolean
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
  /** 1 on first delivery. */
  readonly attempt: number
  /** Remove the message: call only after its effects are committed. */
  ack(): Promise<void>
  /** Deliver again, not before delayMs, with attempt + 1. */
  retry(delayMs: number, error: string): Promise<void>
  /** Move to the dead-letter queue with the error that put it there. */
  deadLetter(error: string): Promise<void>
}

export interface SubscribeOptions {
  /** Unacked deliveries in flight at most. */
  prefetch: number
}

export interface Subscriber {
  /** Start delivering; the handler must eventually ack, retry or dead-letter each delivery. */
  subscribe(handler: (delivery: Delivery) => void, options: SubscribeOptions): Promise<void>
}

export interface DeadLetter {
  event: WebhookEvent
  attempts: number
  lastError: string | null
  deadAt: number | null
}

export interface DeadLetterQueue {
  list(limit?: number): Promise<DeadLetter[]>
  /** Send dead letters (all, or the one with this event id) back to the main queue; returns how many. */
  redrive(id?: string): Promise<number>
}

export type BrokerState = 'connecting' | 'up' | 'down' | 'closed'

export interface Broker extends Publisher, Subscriber {
  readonly name: 'local' | 'rabbitmq' | 'sqs'
  readonly features: BrokerFeatures
  readonly deadLetters: DeadLetterQueue
  /** Connect and declare queues. Resolves once usable or rejects; reconnection after that is the adapter's job. */
  start(): Promise<void>
  state(): BrokerState
  /** Stop consuming and publishing; unacked deliveries return to the queue. Idempotent. */
  close(): Promise<void>
}
