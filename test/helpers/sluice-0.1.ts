/**
 * The broker-side state Sluice 0.1 left behind, rebuilt for upgrade tests. Each function writes
 * exactly what 0.1 wrote (see `git show 50563cf:src/brokers/`): the local `dead` table,
 * RabbitMQ's `<queue>.dlx` + `<queue>.dlq` and the main queue's dead-letter arguments, and the
 * attributes of an SQS dead-letter copy.
 */
import { join } from 'node:path'
import { mkdirSync } from 'node:fs'
import Database from 'better-sqlite3'
import type { Channel, ConfirmChannel } from 'amqplib'
import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs'
import type { WebhookEvent } from '../../src/event.js'
import { encode } from '../../src/brokers/rabbitmq/codec.js'
import { encodeEnvelope } from '../../src/brokers/sqs/envelope.js'

export interface OldDeadLetter {
  event: WebhookEvent
  attempts: number
  lastError: string | null
}

/** The 0.1 schema of `<dataDir>/queue.db`, verbatim. */
const LOCAL_SCHEMA_0_1 = `
CREATE TABLE IF NOT EXISTS messages (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL, source TEXT NOT NULL, received_at INTEGER NOT NULL,
  content_type TEXT NOT NULL, headers TEXT NOT NULL, verified_by TEXT, body BLOB NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0, available_at INTEGER NOT NULL,
  lease TEXT, last_error TEXT
);
CREATE INDEX IF NOT EXISTS messages_ready ON messages (available_at, seq);
CREATE TABLE IF NOT EXISTS dead (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL, source TEXT NOT NULL, received_at INTEGER NOT NULL,
  content_type TEXT NOT NULL, headers TEXT NOT NULL, verified_by TEXT, body BLOB NOT NULL,
  attempts INTEGER NOT NULL, last_error TEXT, dead_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS dead_id ON dead (id);
`

const COLS = 'id, source, received_at, content_type, headers, verified_by, body'
const row = (e: WebhookEvent) => [
  e.id,
  e.source,
  e.receivedAt,
  e.contentType,
  JSON.stringify(e.headers),
  e.verifiedBy,
  e.body,
]

/** A 0.1 queue file: `pending` still queued (one with a last_error), `dead` in the dead table. */
export function writeLocalQueue01(
  dataDir: string,
  dead: readonly OldDeadLetter[],
  pending: readonly WebhookEvent[] = [],
): void {
  mkdirSync(dataDir, { recursive: true })
  const db = new Database(join(dataDir, 'queue.db'))
  try {
    db.pragma('journal_mode = WAL')
    db.exec(LOCAL_SCHEMA_0_1)
    const putDead = db.prepare(
      `INSERT INTO dead (${COLS}, attempts, last_error, dead_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    )
    const putPending = db.prepare(
      `INSERT INTO messages (${COLS}, attempts, available_at, last_error) VALUES (?, ?, ?, ?, ?, ?, ?, 1, 0, 'boom (0.1)')`,
    )
    db.transaction(() => {
      for (const d of dead) putDead.run(...row(d.event), d.attempts, d.lastError, Date.now())
      for (const e of pending) putPending.run(...row(e))
    })()
  } finally {
    db.close()
  }
}

/** Rows left in a queue file's `dead` table; null once the table is gone. */
export function localDeadCount(dataDir: string): number | null {
  const db = new Database(join(dataDir, 'queue.db'), { readonly: true })
  try {
    const exists = db
      .prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'dead'")
      .get()
    if (!exists) return null
    return (db.prepare('SELECT count(*) AS n FROM dead').get() as { n: number }).n
  } finally {
    db.close()
  }
}

/** The RabbitMQ topology 0.1 declared (its declareTopology, verbatim). */
export async function declareRabbitTopology01(
  ch: Channel,
  queue: string,
  type: 'quorum' | 'classic' = 'quorum',
): Promise<void> {
  const base = { 'x-queue-type': type }
  const safeDeadLettering =
    type === 'quorum'
      ? { 'x-dead-letter-strategy': 'at-least-once', 'x-overflow': 'reject-publish' }
      : {}
  await ch.assertExchange(`${queue}.dlx`, 'direct', { durable: true })
  await ch.assertQueue(`${queue}.dlq`, { durable: true, arguments: base })
  await ch.bindQueue(`${queue}.dlq`, `${queue}.dlx`, `${queue}.dlq`)
  await ch.assertQueue(queue, {
    durable: true,
    arguments: {
      ...base,
      'x-dead-letter-exchange': `${queue}.dlx`,
      'x-dead-letter-routing-key': `${queue}.dlq`,
    },
  })
  await ch.assertQueue(`${queue}.retry`, {
    durable: true,
    arguments: {
      ...base,
      ...safeDeadLettering,
      'x-dead-letter-exchange': '',
      'x-dead-letter-routing-key': queue,
    },
  })
}

/** A dead letter as 0.1's consumer wrote it to `<queue>.dlq`: the event plus its verdict. */
export async function publishRabbitDeadLetter01(
  ch: ConfirmChannel,
  queue: string,
  d: OldDeadLetter,
): Promise<void> {
  const extra: Record<string, string> = {
    'sluice-attempt': String(d.attempts),
    'sluice-dead-at': String(Date.now()),
  }
  if (d.lastError !== null) extra['sluice-error'] = d.lastError
  ch.sendToQueue(`${queue}.dlq`, d.event.body, encode(d.event, extra))
  await ch.waitForConfirms()
}

/** A dead-letter copy as 0.1's SQS consumer sent it to the DLQ. */
export async function sendSqsDeadLetter01(
  client: SQSClient,
  dlqUrl: string,
  d: OldDeadLetter,
): Promise<void> {
  await client.send(
    new SendMessageCommand({
      QueueUrl: dlqUrl,
      MessageBody: encodeEnvelope(d.event),
      MessageAttributes: {
        'sluice-error': { DataType: 'String', StringValue: d.lastError || '-' },
        'sluice-attempts': { DataType: 'Number', StringValue: String(d.attempts) },
        'sluice-dead-at': { DataType: 'Number', StringValue: String(Date.now()) },
      },
    }),
  )
}
