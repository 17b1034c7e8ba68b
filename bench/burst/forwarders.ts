import { join } from 'node:path'
import { CreateQueueCommand, DeleteQueueCommand, SQSClient } from '@aws-sdk/client-sqs'
import { SqsBroker } from '../../src/brokers/sqs/broker.js'
import { benchForwarder, benchForwarderInto } from '../forwarder/throughput.js'
import { startNode, stop } from '../proc.js'
import { uniqueName } from '../stages/services.js'
import type { BenchContext } from '../types.js'
import { BODY_BYTES } from './runs.js'

export interface EnvelopeRates {
  /** Events per broker message (SLUICE_ENVELOPE_EVENTS). */
  envelopeEvents: number
  rabbitPerSecond: number
  sqsPerSecond: number
}

/** fauxqs in its own process and an SQS client that only ever calls it on 127.0.0.1. */
async function startSqs(ctx: BenchContext) {
  const { child, line } = await startNode(
    join(ctx.root, 'dist', 'bench', 'burst', 'fauxqs-server.js'),
    [],
    {},
    (l) => l.msg === 'listening',
  )
  const client = new SQSClient({
    endpoint: `http://127.0.0.1:${Number(line.port)}`,
    // Its queue URLs name sqs.us-east-1.localhost: every call goes to the endpoint instead.
    useQueueUrlAsEndpoint: false,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  })
  return {
    client,
    close: async () => {
      client.destroy()
      await stop(child)
    },
  }
}

/**
 * The Forwarder draining `events` journal entries of 5 KB into RabbitMQ (quorum queue) and into
 * SQS (fauxqs), at each envelope size, alternating which broker goes first.
 */
export async function forwarderSweep(
  ctx: BenchContext,
  events: number,
  sizes: number[],
): Promise<EnvelopeRates[]> {
  const sqs = await startSqs(ctx)
  try {
    const out: EnvelopeRates[] = []
    for (const [i, size] of sizes.entries()) {
      const rabbit = async () => {
        ctx.log(`forwarder -> RabbitMQ, ${events} events, ${size} per message`)
        const q = uniqueName('sluice_bench_burst_fwd')
        const r = await benchForwarder({
          queue: q,
          events,
          bodyBytes: BODY_BYTES,
          envelopeEvents: size,
        })
        return r.perSecond
      }
      const toSqs = async () => {
        ctx.log(`forwarder -> SQS (fauxqs), ${events} events, ${size} per message`)
        const created = await sqs.client.send(
          new CreateQueueCommand({ QueueName: uniqueName('sluice-bench-burst') }),
        )
        const queueUrl = created.QueueUrl!
        const r = await benchForwarderInto(
          (logger) => ({
            broker: new SqsBroker({ queueUrl, client: sqs.client, envelopeEvents: size }, logger),
            cleanup: async () => {
              await sqs.client.send(new DeleteQueueCommand({ QueueUrl: queueUrl }))
            },
          }),
          { events, bodyBytes: BODY_BYTES },
        )
        return r.perSecond
      }
      let rabbitPerSecond = 0
      let sqsPerSecond = 0
      if (i % 2 === 0) {
        rabbitPerSecond = await rabbit()
        sqsPerSecond = await toSqs()
      } else {
        sqsPerSecond = await toSqs()
        rabbitPerSecond = await rabbit()
      }
      out.push({ envelopeEvents: size, rabbitPerSecond, sqsPerSecond })
    }
    return out
  } finally {
    await sqs.close()
  }
}
