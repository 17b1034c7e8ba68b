import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs'

const MAX_ENTRIES = 10

/** Run `fn` over chunks of at most 10 (the SQS batch limit). */
async function chunked<T>(items: readonly T[], fn: (chunk: T[]) => Promise<void>): Promise<void> {
  for (let i = 0; i < items.length; i += MAX_ENTRIES) await fn(items.slice(i, i + MAX_ENTRIES))
}

/** Set the visibility timeout of received messages (0 = visible again now). */
export async function setVisibility(
  client: SQSClient,
  queueUrl: string,
  handles: readonly string[],
  seconds: number,
): Promise<void> {
  await chunked(handles, async (chunk) => {
    await client.send(
      new ChangeMessageVisibilityBatchCommand({
        QueueUrl: queueUrl,
        Entries: chunk.map((h, i) => ({
          Id: `v${i}`,
          ReceiptHandle: h,
          VisibilityTimeout: seconds,
        })),
      }),
    )
  })
}

interface PendingDelete {
  handle: string
  resolve: () => void
  reject: (err: Error) => void
}

/**
 * Acks become DeleteMessageBatch calls: acks arriving in the same turn of the event loop are
 * sent together, up to 10 per call, and each ack resolves or rejects with its own entry.
 */
export class DeleteBatcher {
  private pending: PendingDelete[] = []
  private scheduled = false
  private inflight = new Set<Promise<void>>()

  constructor(
    private readonly client: SQSClient,
    private readonly queueUrl: string,
  ) {}

  delete(handle: string): Promise<void> {
    return new Promise((resolve, reject) => {
      this.pending.push({ handle, resolve, reject })
      if (this.pending.length >= MAX_ENTRIES) this.flush()
      else if (!this.scheduled) {
        this.scheduled = true
        setImmediate(() => this.flush())
      }
    })
  }

  private flush(): void {
    this.scheduled = false
    while (this.pending.length) {
      const chunk = this.pending.splice(0, MAX_ENTRIES)
      const p = this.send(chunk).finally(() => this.inflight.delete(p))
      this.inflight.add(p)
    }
  }

  private async send(chunk: PendingDelete[]): Promise<void> {
    try {
      const out = await this.client.send(
        new DeleteMessageBatchCommand({
          QueueUrl: this.queueUrl,
          Entries: chunk.map((d, i) => ({ Id: `d${i}`, ReceiptHandle: d.handle })),
        }),
      )
      const failed = new Map((out.Failed ?? []).map((f) => [f.Id, f]))
      chunk.forEach((d, i) => {
        const f = failed.get(`d${i}`)
        if (f) d.reject(new Error(`SQS refused the delete: ${f.Code} ${f.Message ?? ''}`))
        else d.resolve()
      })
    } catch (err) {
      chunk.forEach((d) => d.reject(new Error('SQS DeleteMessageBatch failed', { cause: err })))
    }
  }

  /** Send what is queued and wait for every call in flight. */
  async drain(): Promise<void> {
    this.flush()
    await Promise.allSettled([...this.inflight])
  }
}
