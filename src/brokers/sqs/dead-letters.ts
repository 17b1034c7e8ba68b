import {
  DeleteMessageCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  type Message,
  type SQSClient,
} from '@aws-sdk/client-sqs'
import type { DeadLetter, DeadLetterQueue } from '../types.js'
import { decodeEnvelope } from './envelope.js'
import { A } from './consumer.js'
import { setVisibility } from './settle.js'

/**
 * Browse and redrive the DLQ. SQS has no peek: browsing receives messages with a visibility
 * timeout (so each is seen once) and then makes every one of them visible again; nothing is
 * deleted by looking. Redrive sends a copy to the main queue (fresh receive count) and only then
 * deletes the dead letter.
 */
export class SqsDeadLetters implements DeadLetterQueue {
  constructor(
    private readonly client: () => SQSClient,
    private readonly queueUrl: () => string,
    private readonly dlqUrl: () => string,
  ) {}

  /** Receive up to `limit` distinct DLQ messages, hand them to `fn`, then return the rest. */
  private async scan(limit: number, fn: (m: Message) => Promise<boolean>): Promise<void> {
    const seen = new Set<string>()
    const hold: string[] = []
    try {
      while (seen.size < limit) {
        const out = await this.client().send(
          new ReceiveMessageCommand({
            QueueUrl: this.dlqUrl(),
            MaxNumberOfMessages: Math.min(10, limit - seen.size),
            WaitTimeSeconds: 1,
            VisibilityTimeout: 60,
            MessageAttributeNames: ['All'],
            MessageSystemAttributeNames: ['ApproximateReceiveCount'],
          }),
        )
        const fresh = (out.Messages ?? []).filter((m) => !seen.has(m.MessageId!))
        if (!fresh.length) break
        for (const m of fresh) {
          seen.add(m.MessageId!)
          if (!(await fn(m))) hold.push(m.ReceiptHandle!)
        }
      }
    } finally {
      await setVisibility(this.client(), this.dlqUrl(), hold, 0)
    }
  }

  async list(limit = 100): Promise<DeadLetter[]> {
    const out: DeadLetter[] = []
    await this.scan(limit, async (m) => {
      const a = m.MessageAttributes ?? {}
      const deadAt = Number(a[A.deadAt]?.StringValue)
      out.push({
        event: decodeOrRaw(m),
        attempts: Number(a[A.attempts]?.StringValue ?? 0) || 0,
        lastError:
          a[A.error]?.StringValue ??
          (a[A.attempts] ? null : 'moved by the queue redrive policy (maxReceiveCount)'),
        deadAt: Number.isFinite(deadAt) ? deadAt : null,
      })
      return false
    })
    return out
  }

  async redrive(id?: string): Promise<number> {
    let n = 0
    await this.scan(Number.MAX_SAFE_INTEGER, async (m) => {
      if (id !== undefined && decodeOrRaw(m).id !== id) return false
      await this.client().send(
        new SendMessageCommand({ QueueUrl: this.queueUrl(), MessageBody: m.Body ?? '' }),
      )
      await this.client().send(
        new DeleteMessageCommand({ QueueUrl: this.dlqUrl(), ReceiptHandle: m.ReceiptHandle! }),
      )
      n++
      return true
    })
    return n
  }
}

/** A foreign message in the DLQ is still listed: its body as text, id from the MessageId. */
function decodeOrRaw(m: Message): DeadLetter['event'] {
  try {
    return decodeEnvelope(m.Body ?? '')
  } catch {
    return {
      id: m.MessageId ?? '',
      source: 'unknown',
      receivedAt: 0,
      contentType: 'text/plain',
      headers: {},
      body: Buffer.from(m.Body ?? ''),
      verifiedBy: null,
    }
  }
}
