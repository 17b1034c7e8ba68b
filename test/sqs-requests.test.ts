import t from 'tap'
import { SQSClient } from '@aws-sdk/client-sqs'
import { SqsBroker } from '../src/brokers/sqs/broker.js'
import { dummyCredentials, startFakeSqs } from './helpers/fauxqs.js'
import { ENVELOPE_EVENTS, makeEvent } from './helpers/broker-fixtures.js'
import { until } from './helpers/wait.js'
import { failOnLeaks } from './helpers/leaks.js'

const EVENTS = 1000

/**
 * SQS bills per request: count the requests 1,000 events cost, published and consumed, at one
 * event per message (Sluice 0.1) and with envelopes (the default). Counts, not times: the same
 * on any machine.
 */
for (const envelopeEvents of [1, ENVELOPE_EVENTS]) {
  t.test(`requests per ${EVENTS} events at ${envelopeEvents} per message`, async (t) => {
    const sqs = await startFakeSqs()
    const queueUrl = await sqs.createPlainQueue('requests')
    const client = new SQSClient({
      endpoint: sqs.endpoint,
      useQueueUrlAsEndpoint: false,
      region: 'us-east-1',
      credentials: dummyCredentials(),
    })
    const calls = new Map<string, number>()
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const name = context.commandName ?? 'unknown'
        calls.set(name, (calls.get(name) ?? 0) + 1)
        return next(args)
      },
      { step: 'initialize', name: 'countRequests' },
    )
    const broker = new SqsBroker({
      queueUrl,
      endpoint: sqs.endpoint,
      client,
      waitTimeSeconds: 1,
      envelopeEvents,
    })
    t.teardown(async () => {
      await broker.close()
      client.destroy()
      await sqs.close()
    })
    await broker.start()
    const events = Array.from({ length: EVENTS }, () => makeEvent())
    t.ok((await broker.publish(events)).every(Boolean), 'every event confirmed')
    const sent = calls.get('SendMessageBatchCommand') ?? 0
    const seen = new Set<string>()
    await broker.subscribe(
      (d) => {
        seen.add(d.event.id)
        void d.ack()
      },
      { prefetch: 256 },
    )
    await until('every event consumed and acked', () => seen.size === EVENTS)
    await until('the queue is empty', async () => {
      const d = await sqs.depth(queueUrl)
      return d.visible + d.inFlight === 0
    })
    await broker.close()
    const messages = Math.ceil(EVENTS / envelopeEvents)
    t.equal(sent, Math.ceil(messages / 10), `${sent} SendMessageBatch calls (10 messages each)`)
    const receives = calls.get('ReceiveMessageCommand') ?? 0
    const deletes = calls.get('DeleteMessageBatchCommand') ?? 0
    t.ok(deletes >= Math.ceil(messages / 10), `${deletes} DeleteMessageBatch calls`)
    t.ok(receives >= Math.ceil(messages / 10), `${receives} ReceiveMessage calls`)
    t.comment(
      `${EVENTS} events at ${envelopeEvents}/message: ${sent} sends, ${receives} receives, ` +
        `${deletes} deletes = ${sent + receives + deletes} requests`,
    )
  })
}

failOnLeaks(t)
