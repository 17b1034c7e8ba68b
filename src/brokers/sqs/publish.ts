import {
  SendMessageBatchCommand,
  type SQSClient,
  type SendMessageBatchRequestEntry,
} from '@aws-sdk/client-sqs'
import type { WebhookEvent } from '../../event.js'
import { EventTooLargeError } from '../errors.js'
import { packEnvelopes, perEvent, type EnvelopeLimits } from '../envelope/pack.js'
import { SQS_MAX_MESSAGE_BYTES, encodeSqsBody } from './envelope.js'

const MAX_ENTRIES = 10

interface Entry {
  index: number
  body: string
}

/** Group entries into SendMessageBatch calls of at most 10 entries and 1 MiB in total. */
export function planBatches(bodies: readonly string[]): Entry[][] {
  const batches: Entry[][] = []
  let current: Entry[] = []
  let bytes = 0
  for (const [index, body] of bodies.entries()) {
    const size = Buffer.byteLength(body)
    if (
      current.length === MAX_ENTRIES ||
      (current.length > 0 && bytes + size > SQS_MAX_MESSAGE_BYTES)
    ) {
      batches.push(current)
      current = []
      bytes = 0
    }
    current.push({ index, body })
    bytes += size
  }
  if (current.length) batches.push(current)
  return batches
}

/**
 * Send events as envelopes (up to `limits` per message), one boolean per event. Only the entries SQS lists in `Failed` are sent again
 * (up to `retries` times); an error of the call itself (network, throttling past the SDK's own
 * retries) rejects the whole publish.
 */
export async function sendEvents(
  client: SQSClient,
  queueUrl: string,
  events: readonly WebhookEvent[],
  limits: EnvelopeLimits,
  concurrency: number,
  retries: number,
): Promise<boolean[]> {
  const groups = packEnvelopes(events, limits)
  const bodies = groups.map((g) => {
    const body = encodeSqsBody(g.map((i) => events[i]!))
    if (Buffer.byteLength(body) > SQS_MAX_MESSAGE_BYTES) {
      throw new EventTooLargeError(
        `event ${events[g[0]!]!.id} does not fit an SQS message (${body.length} bytes encoded)`,
      )
    }
    return body
  })
  const sent = groups.map(() => false)
  const queue = planBatches(bodies)
  const worker = async () => {
    for (let batch = queue.shift(); batch; batch = queue.shift()) {
      let pending = batch
      for (let round = 0; round <= retries && pending.length; round++) {
        const entries: SendMessageBatchRequestEntry[] = pending.map((p) => ({
          Id: `e${p.index}`,
          MessageBody: p.body,
        }))
        const out = await client.send(
          new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: entries }),
        )
        for (const ok of out.Successful ?? []) sent[Number(ok.Id?.slice(1))] = true
        const failed = new Set((out.Failed ?? []).filter((f) => !f.SenderFault).map((f) => f.Id))
        pending = pending.filter((p) => failed.has(`e${p.index}`))
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, queue.length) }, worker))
  return perEvent(groups, sent)
}
