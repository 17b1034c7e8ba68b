import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import amqp from 'amqplib'
import type { BrokerChoice } from '../../src/brokers/index.js'
import type { Broker, Delivery } from '../../src/brokers/types.js'
import type { WebhookEvent } from '../../src/event.js'
import { LocalBroker } from '../../src/brokers/local/broker.js'
import { RabbitBroker } from '../../src/brokers/rabbitmq/broker.js'
import { SqsBroker } from '../../src/brokers/sqs/broker.js'
import { deleteTopology, queueNames } from '../../src/brokers/rabbitmq/topology.js'
import { deleteRabbitQueues } from '../../src/testing/rabbitmq.js'
import { startFakeSqs } from './fauxqs.js'

export const AMQP_URL = process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672'
/** The adapters' default envelope size (events per message). */
export const ENVELOPE_EVENTS = 50

/** Credentials fauxqs accepts, for a child process that builds its own SQS client. */
export const FAKE_AWS_ENV = Object.freeze({
  AWS_ACCESS_KEY_ID: 'test',
  AWS_SECRET_ACCESS_KEY: 'test',
  AWS_REGION: 'us-east-1',
})

/** One adapter under test: a fresh queue, brokers on it, and a way to count what is in it. */
export interface Harness {
  /** A new broker instance on the same queue (a "new process"). Not started. */
  make(): Broker
  /**
   * The same broker as a plain BrokerChoice, for a child process (createBroker(choice)); it
   * redelivers what a killed holder had within a few seconds.
   */
  choice(): BrokerChoice
  /** Messages in the main queue, counted outside the adapter; call with no consumer attached. */
  depth(): Promise<number>
  cleanup(): Promise<void>
}

export interface Fixture {
  name: string
  /**
   * Every delivery counts in `attempt`, including those whose consumer died before settling
   * (classic RabbitMQ queues only flag a redelivery, so there it stops at one more).
   */
  countsDeliveries: boolean
  /** Events one broker message carries at most (the envelope; the local queue keeps rows). */
  eventsPerMessage: number
  setup(): Promise<Harness>
}

let seq = 0
const unique = (prefix: string) => `${prefix}-${process.pid}-${Date.now().toString(36)}-${++seq}`

export const localFixture: Fixture = {
  name: 'local',
  countsDeliveries: true,
  eventsPerMessage: 1,
  async setup() {
    const dataDir = mkdtempSync(join(tmpdir(), 'sluice-local-broker-'))
    return {
      make: () => new LocalBroker({ dataDir, pollIntervalMs: 20 }),
      choice: () => ({ kind: 'local', options: { dataDir, pollIntervalMs: 20, leaseMs: 1500 } }),
      async depth() {
        const db = new Database(join(dataDir, 'queue.db'), { readonly: true })
        try {
          return (db.prepare('SELECT count(*) AS n FROM messages').get() as { n: number }).n
        } finally {
          db.close()
        }
      },
      async cleanup() {
        rmSync(dataDir, { recursive: true, force: true })
      },
    }
  },
}

const rabbit = (queueType: 'quorum' | 'classic'): Fixture => ({
  name: queueType === 'quorum' ? 'rabbitmq' : 'rabbitmq (classic queues)',
  countsDeliveries: queueType === 'quorum',
  eventsPerMessage: ENVELOPE_EVENTS,
  async setup() {
    const queue = unique(`sluice.test.${queueType}`)
    const names = queueNames(queue)
    const admin = await amqp.connect(AMQP_URL)
    return {
      make: () => new RabbitBroker({ url: AMQP_URL, queue, queueType, reconnectBaseMs: 100 }),
      choice: () => ({
        kind: 'rabbitmq',
        options: { url: AMQP_URL, queue, queueType, reconnectBaseMs: 100 },
      }),
      async depth() {
        const ch = await admin.createChannel()
        try {
          return (await ch.checkQueue(names.main)).messageCount
        } finally {
          await ch.close()
        }
      },
      async cleanup() {
        const ch = await admin.createChannel()
        await deleteTopology(ch, names)
        await ch.close()
        await admin.close()
      },
    }
  },
})

export const rabbitFixture = rabbit('quorum')
/** Classic queues report a redelivery only as a flag (no x-delivery-count). */
export const rabbitClassicFixture = rabbit('classic')

export const sqsFixture: Fixture = {
  name: 'sqs',
  countsDeliveries: true,
  eventsPerMessage: ENVELOPE_EVENTS,
  async setup() {
    const sqs = await startFakeSqs()
    // A plain queue, no RedrivePolicy: any queue must work.
    const queueUrl = await sqs.createPlainQueue('sluice-test')
    return {
      make: () =>
        new SqsBroker({ queueUrl, endpoint: sqs.endpoint, client: sqs.client, waitTimeSeconds: 1 }),
      choice: () => ({
        kind: 'sqs',
        options: {
          queueUrl,
          endpoint: sqs.endpoint,
          waitTimeSeconds: 1,
          visibilityTimeoutSeconds: 3,
        },
      }),
      async depth() {
        const d = await sqs.depth(queueUrl)
        return d.visible + d.inFlight
      },
      cleanup: () => sqs.close(),
    }
  },
}

export const fixtures: readonly Fixture[] = [
  localFixture,
  rabbitFixture,
  rabbitClassicFixture,
  sqsFixture,
]

let eventSeq = 0
export function makeEvent(over: Partial<WebhookEvent> = {}): WebhookEvent {
  const n = ++eventSeq
  return {
    id: `evt-${process.pid}-${n}`,
    source: 'github',
    receivedAt: 1_700_000_000_000 + n,
    contentType: 'application/json',
    headers: { 'x-github-event': 'push', 'x-quote': 'a "quoted" \\ value' },
    body: Buffer.from(JSON.stringify({ n, text: 'héllo' })),
    verifiedBy: 'github',
    ...over,
  }
}

/** Subscribe and hand out deliveries in arrival order. */
export class Inbox {
  readonly received: Delivery[] = []
  private waiters: Array<{ n: number; resolve: () => void }> = []

  constructor(
    readonly broker: Broker,
    private readonly timeoutMs = 60_000,
  ) {}

  async subscribe(prefetch: number): Promise<this> {
    await this.broker.subscribe(
      (d) => {
        this.received.push(d)
        this.waiters = this.waiters.filter((w) =>
          this.received.length >= w.n ? (w.resolve(), false) : true,
        )
      },
      { prefetch },
    )
    return this
  }

  /** Resolve with the n-th delivery (1-based) once it arrived; rejects after a generous timeout. */
  async nth(n: number): Promise<Delivery> {
    if (this.received.length < n) {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`timed out waiting for delivery #${n}`)),
          this.timeoutMs,
        )
        this.waiters.push({ n, resolve: () => (clearTimeout(timer), resolve()) })
      })
    }
    return this.received[n - 1]!
  }
}

/** Delete a queue's whole RabbitMQ topology (main, retry, dead-letter queue and exchange). */
export function deleteRabbitTopology(queue: string): Promise<void> {
  return deleteRabbitQueues(AMQP_URL, queue)
}
