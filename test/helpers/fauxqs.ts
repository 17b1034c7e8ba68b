import { startFauxqs, type FauxqsServer } from 'fauxqs'
import {
  CreateQueueCommand,
  DeleteQueueCommand,
  GetQueueAttributesCommand,
  SQSClient,
} from '@aws-sdk/client-sqs'

/**
 * An in-process SQS emulator (fauxqs) and a client that always calls it on 127.0.0.1. fauxqs
 * answers with queue URLs naming `sqs.us-east-1.localhost:<port>` (its `host` option only names
 * URLs), a host that does not resolve here, so every request must go to the pinned endpoint
 * (see src/brokers/sqs/client.ts): a test passing through these URLs proves it does.
 */
export interface FakeSqs {
  endpoint: string
  client: SQSClient
  /** A queue with a DLQ wired through RedrivePolicy; names are made unique. */
  createQueue(name: string, maxReceiveCount?: number): Promise<{ queueUrl: string; dlqUrl: string }>
  /** A queue with no RedrivePolicy (what a new user creates); the name is made unique. */
  createPlainQueue(name: string): Promise<string>
  /** A plain queue with exactly this name (to create a queue an engine already points at). */
  createPlainQueueNamed(name: string): Promise<string>
  /** ApproximateNumberOfMessages (+NotVisible) of a queue. */
  depth(queueUrl: string): Promise<{ visible: number; inFlight: number }>
  close(): Promise<void>
}

/** A fresh object each time: the SDK writes bookkeeping onto the credentials it is given. */
export const dummyCredentials = () => ({ accessKeyId: 'test', secretAccessKey: 'test' })

let counter = 0

export async function startFakeSqs(): Promise<FakeSqs> {
  const server: FauxqsServer = await startFauxqs({ port: 0, host: 'localhost', logger: false })
  const endpoint = `http://127.0.0.1:${server.port}`
  const client = new SQSClient({
    endpoint,
    useQueueUrlAsEndpoint: false,
    region: 'us-east-1',
    credentials: dummyCredentials(),
  })
  const created: string[] = []
  const createPlain = async (name: string) => {
    const out = await client.send(new CreateQueueCommand({ QueueName: name }))
    created.push(out.QueueUrl!)
    return out.QueueUrl!
  }
  return {
    endpoint,
    client,
    async createQueue(name, maxReceiveCount = 10) {
      const base = `${name}-${process.pid}-${++counter}`
      const dlq = await client.send(new CreateQueueCommand({ QueueName: `${base}-dlq` }))
      const dlqAttrs = await client.send(
        new GetQueueAttributesCommand({ QueueUrl: dlq.QueueUrl, AttributeNames: ['QueueArn'] }),
      )
      const main = await client.send(
        new CreateQueueCommand({
          QueueName: base,
          Attributes: {
            RedrivePolicy: JSON.stringify({
              deadLetterTargetArn: dlqAttrs.Attributes?.QueueArn,
              maxReceiveCount: String(maxReceiveCount),
            }),
          },
        }),
      )
      created.push(main.QueueUrl!, dlq.QueueUrl!)
      return { queueUrl: main.QueueUrl!, dlqUrl: dlq.QueueUrl! }
    },
    createPlainQueue: (name) => createPlain(`${name}-${process.pid}-${++counter}`),
    createPlainQueueNamed: createPlain,
    async depth(queueUrl) {
      const out = await client.send(
        new GetQueueAttributesCommand({
          QueueUrl: queueUrl,
          AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
        }),
      )
      return {
        visible: Number(out.Attributes?.ApproximateNumberOfMessages ?? 0),
        inFlight: Number(out.Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0),
      }
    },
    async close() {
      for (const url of created) {
        await client.send(new DeleteQueueCommand({ QueueUrl: url })).catch(() => {})
      }
      client.destroy()
      await server.stop()
    },
  }
}
