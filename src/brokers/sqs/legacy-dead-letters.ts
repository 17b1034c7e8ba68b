import {
  DeleteMessageBatchCommand,
  ReceiveMessageCommand,
  type Message,
  type SQSClient,
} from '@aws-sdk/client-sqs'
import type { LegacyDeadLetter } from '../types.js'
import { decodeEnvelope, rawSqsEvent } from './envelope.js'
import { setVisibility } from './settle.js'

/** Attributes Sluice 0.1 put on the dead letters it sent. */
const ERROR = 'sluice-error'
const ATTEMPTS = 'sluice-attempts'

/**
 * Move what a Sluice 0.1 DLQ holds into Postgres: receive up to 10, hand them to `take` (which
 * commits them), then delete them. A crash in between lets them reappear after the visibility
 * timeout and be taken again; `take` is keyed by the event, so nothing doubles.
 */
export async function drainLegacySqsDlq(
  client: SQSClient,
  dlqUrl: string,
  take: (letters: LegacyDeadLetter[]) => Promise<void>,
): Promise<number> {
  let moved = 0
  for (;;) {
    const out = await client.send(
      new ReceiveMessageCommand({
        QueueUrl: dlqUrl,
        MaxNumberOfMessages: 10,
        // A short poll may answer empty while messages exist (it samples servers): wait a bit.
        WaitTimeSeconds: 1,
        VisibilityTimeout: 60,
        MessageSystemAttributeNames: ['ApproximateReceiveCount'],
        MessageAttributeNames: ['All'],
      }),
    )
    const messages = out.Messages ?? []
    if (messages.length === 0) return moved
    const handles = messages.map((m) => m.ReceiptHandle!)
    try {
      await take(messages.map(toLetter))
    } catch (err) {
      // Not taken: make them visible again at once, so a retry sees them instead of 0.
      await setVisibility(client, dlqUrl, handles, 0).catch(() => {})
      throw err
    }
    await client.send(
      new DeleteMessageBatchCommand({
        QueueUrl: dlqUrl,
        Entries: handles.map((h, i) => ({ Id: `d${i}`, ReceiptHandle: h })),
      }),
    )
    moved += messages.length
  }
}

function toLetter(m: Message): LegacyDeadLetter {
  const attrs = m.MessageAttributes ?? {}
  const attempts = Number(attrs[ATTEMPTS]?.StringValue ?? m.Attributes?.ApproximateReceiveCount)
  const base = {
    attempts: Number.isFinite(attempts) ? attempts : 0,
    error: attrs[ERROR]?.StringValue ?? 'moved to the DLQ by its RedrivePolicy (Sluice 0.1)',
  }
  try {
    return { ...base, event: decodeEnvelope(m.Body ?? ''), malformed: false }
  } catch {
    return { ...base, event: rawSqsEvent(m), malformed: true }
  }
}
