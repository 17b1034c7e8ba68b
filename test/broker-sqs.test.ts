import t, { type Test } from 'tap'
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs'
import { dummyCredentials, startFakeSqs } from './helpers/fauxqs.js'
import { ENVELOPE_EVENTS, Inbox, makeEvent } from './helpers/broker-fixtures.js'
import { SqsBroker } from '../src/brokers/sqs/broker.js'
import { BrokerUnavailableError } from '../src/brokers/errors.js'
import { planBatches } from '../src/brokers/sqs/publish.js'
import {
  SQS_MAX_EVENT_BYTES,
  SQS_MAX_MESSAGE_BYTES,
  decodeSqsBody,
  encodeEnvelope,
  encodeSqsBody,
} from '../src/brokers/sqs/envelope.js'
import { eventBytes } from '../src/event.js'
import { createBroker } from '../src/brokers/index.js'
import { brokerChoice } from '../src/pipeline/broker-choice.js'
import { loadConfig } from '../src/config.js'
import { createLogger } from '../src/log.js'
import { until } from './helpers/wait.js'
import { failOnLeaks } from './helpers/leaks.js'

/** The engine reads AWS credentials from the environment; give it dummy ones for one test. */
function dummyCredentialsInEnv(t: Test): void {
  const saved = { ...process.env }
  Object.assign(process.env, { AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test' })
  t.teardown(() => {
    for (const k of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY']) {
      if (saved[k] === undefined) delete process.env[k]
      else process.env[k] = saved[k]
    }
  })
}

t.test('batches hold at most 10 entries and 1 MiB', async (t) => {
  const small = Array.from({ length: 23 }, () => 'x')
  t.same(
    planBatches(small).map((b) => b.length),
    [10, 10, 3],
  )
  const big = Array.from({ length: 5 }, () => 'y'.repeat(400 * 1024))
  const plan = planBatches(big)
  t.same(
    plan.map((b) => b.length),
    [2, 2, 1],
  )
  t.same(
    plan.flat().map((e) => e.index),
    [0, 1, 2, 3, 4],
    'every entry once, in order',
  )
})

t.test('the body keeps exact bytes; the largest allowed event fits one message', async (t) => {
  const e = makeEvent({ body: Buffer.from([0, 255, 10, 13, 0xd8, 0x00]) })
  t.same(decodeSqsBody(encodeSqsBody([e])), [e], 'an envelope of one')
  const events = [e, makeEvent({ verifiedBy: null, headers: {} }), makeEvent()]
  t.same(decodeSqsBody(encodeSqsBody(events)), events, 'an envelope of several, in order')
  t.same(decodeSqsBody(encodeEnvelope(e)), [e], "Sluice 0.1's frame (version 1) is still read")
  t.throws(() => decodeSqsBody('bm90IGEgZnJhbWU='), 'a foreign body is refused')
  t.throws(
    () => decodeSqsBody(encodeSqsBody(events).slice(0, -8)),
    /truncated envelope/,
    'so is a truncated envelope',
  )
  // 1 MiB of base64 is 768 KiB of envelope; one event's envelope adds 144 bytes.
  t.equal(SQS_MAX_EVENT_BYTES, 786_288, 'the limit the HTTP server enforces (413 above it)')
  const base = makeEvent({ body: Buffer.alloc(0) })
  const largest = { ...base, body: Buffer.alloc(SQS_MAX_EVENT_BYTES - eventBytes(base), 0xab) }
  t.equal(eventBytes(largest), SQS_MAX_EVENT_BYTES)
  t.ok(Buffer.byteLength(encodeSqsBody([largest])) <= SQS_MAX_MESSAGE_BYTES, 'fits one message')
  // Worst case for the envelope: every metadata string doubles when JSON-escaped.
  const escaped = {
    ...makeEvent({
      headers: { 'x-q': '"'.repeat(500), 'x-b': '\\'.repeat(500) },
      contentType: '"'.repeat(300),
      verifiedBy: '"'.repeat(64),
      body: Buffer.alloc(0),
    }),
    id: '"'.repeat(256),
    source: '"'.repeat(64),
  }
  const worst = {
    ...escaped,
    body: Buffer.alloc(SQS_MAX_EVENT_BYTES - eventBytes(escaped), 0xff),
  }
  t.equal(eventBytes(worst), SQS_MAX_EVENT_BYTES)
  t.ok(
    Buffer.byteLength(encodeSqsBody([worst])) <= SQS_MAX_MESSAGE_BYTES,
    'fits one message with worst-case metadata too',
  )
  t.same(decodeSqsBody(encodeSqsBody([worst])), [worst])
})

t.test('against fauxqs', async (t) => {
  const sqs = await startFakeSqs()
  t.teardown(() => sqs.close())
  let plain = 0
  /** A queue without a RedrivePolicy (the helper's queues all have one). */
  const plainQueue = async (name: string) =>
    (
      await sqs.client.send(
        new CreateQueueCommand({ QueueName: `${name}-${process.pid}-plain-${++plain}` }),
      )
    ).QueueUrl!

  /** ApproximateNumberOfMessagesDelayed: messages sent with DelaySeconds, not yet visible. */
  const delayed = async (queueUrl: string) => {
    const out = await sqs.client.send(
      new GetQueueAttributesCommand({
        QueueUrl: queueUrl,
        AttributeNames: ['ApproximateNumberOfMessagesDelayed'],
      }),
    )
    return Number(out.Attributes?.ApproximateNumberOfMessagesDelayed ?? 0)
  }

  t.test(
    'the configured endpoint wins over the queue URL host (a queue with a RedrivePolicy)',
    async (t) => {
      const { queueUrl } = await sqs.createQueue('endpoint')
      t.match(
        new URL(queueUrl).hostname,
        /^sqs\.us-east-1\.localhost$/,
        'fauxqs names an unresolvable host',
      )
      dummyCredentialsInEnv(t)
      const config = loadConfig({
        SLUICE_BROKER: 'sqs',
        SQS_QUEUE_URL: queueUrl,
        AWS_ENDPOINT_URL_SQS: sqs.endpoint,
        SLUICE_DATA_DIR: '/nonexistent',
      })
      const broker = createBroker(
        brokerChoice(config, { sqs: { waitTimeSeconds: 1 } }),
        createLogger('silent'),
      )
      t.teardown(() => broker.close())
      t.equal(broker.name, 'sqs')
      await broker.start()
      const e = makeEvent()
      t.same(await broker.publish([e]), [true])
      const d = await (await new Inbox(broker).subscribe(1)).nth(1)
      t.same(d.event, e)
      await d.ack()
    },
  )

  t.test(
    'the largest event the HTTP server lets through is published and received intact',
    async (t) => {
      const { queueUrl } = await sqs.createQueue('largest')
      const broker = new SqsBroker({ queueUrl, client: sqs.client, waitTimeSeconds: 1 })
      t.teardown(() => broker.close())
      await broker.start()
      // Worst case for the envelope: long metadata, JSON-escaped ('"' doubles).
      const headers = { 'content-type': `application/${'x'.repeat(3000)}`, 'x-q': '"'.repeat(500) }
      const base = {
        ...makeEvent({
          headers,
          contentType: headers['content-type'],
          verifiedBy: 'standard-webhooks',
        }),
        id: '"'.repeat(256),
        source: 's'.repeat(64),
      }
      // The server's measure (eventBytes), filled to the limit it enforces.
      const largest = {
        ...base,
        body: Buffer.alloc(
          SQS_MAX_EVENT_BYTES - eventBytes({ ...base, body: Buffer.alloc(0) }),
          0xfe,
        ),
      }
      t.equal(eventBytes(largest), broker.features.maxEventBytes)
      t.same(await broker.publish([largest]), [true], 'it fits one message')
      const d = await (await new Inbox(broker).subscribe(1)).nth(1)
      t.same(d.event, largest, 'every byte and every piece of metadata survives')
      await d.ack()
    },
  )

  t.test('only the entries listed in Failed are sent again', async (t) => {
    const { queueUrl } = await sqs.createQueue('failed')
    let calls = 0
    // Drop the first entry of the first call and report it as a (retryable) failure.
    const flaky = {
      send: async (cmd: unknown, ...rest: unknown[]) => {
        if (cmd instanceof SendMessageBatchCommand && calls++ === 0) {
          const [dropped, ...kept] = cmd.input.Entries!
          const out = await sqs.client.send(
            new SendMessageBatchCommand({ ...cmd.input, Entries: kept }),
          )
          return {
            ...out,
            Failed: [{ Id: dropped!.Id, SenderFault: false, Code: 'InternalError' }],
          }
        }
        return (sqs.client.send as (...a: unknown[]) => Promise<unknown>)(cmd, ...rest)
      },
      destroy() {},
    } as unknown as SQSClient
    const broker = new SqsBroker({ queueUrl, client: flaky, waitTimeSeconds: 1 })
    t.teardown(() => broker.close())
    await broker.start()
    // Three full envelopes: three entries of one SendMessageBatch call.
    const events = Array.from({ length: 3 * ENVELOPE_EVENTS }, () => makeEvent())
    t.same(
      await broker.publish(events),
      events.map(() => true),
      'every event of every entry confirmed',
    )
    t.equal(calls, 2, 'one retry call')
    const depth = await sqs.depth(queueUrl)
    t.equal(depth.visible, 3, 'no duplicates: the confirmed entries were not resent')
    const inbox = await new Inbox(broker).subscribe(3 * ENVELOPE_EVENTS)
    for (let i = 1; i <= events.length; i++) await inbox.nth(i)
    t.same(
      inbox.received.map((d) => d.event.id).sort(),
      events.map((e) => e.id).sort(),
      'each event once',
    )
    await Promise.all(inbox.received.map((d) => d.ack()))
  })

  t.test('an entry that stays failed: exactly its events are unconfirmed', async (t) => {
    const { queueUrl } = await sqs.createQueue('failed-for-good')
    // The second entry of every call fails.
    const flaky = {
      send: async (cmd: unknown, ...rest: unknown[]) => {
        if (cmd instanceof SendMessageBatchCommand) {
          const entries = cmd.input.Entries!
          const out = await sqs.client.send(
            new SendMessageBatchCommand({
              ...cmd.input,
              Entries: entries.filter((_, i) => i !== 1),
            }),
          )
          const failed = entries[1]
            ? [{ Id: entries[1].Id, SenderFault: false, Code: 'InternalError' }]
            : []
          return { ...out, Failed: failed }
        }
        return (sqs.client.send as (...a: unknown[]) => Promise<unknown>)(cmd, ...rest)
      },
      destroy() {},
    } as unknown as SQSClient
    const broker = new SqsBroker({ queueUrl, client: flaky, waitTimeSeconds: 1, publishRetries: 0 })
    t.teardown(() => broker.close())
    await broker.start()
    const events = Array.from({ length: 2 * ENVELOPE_EVENTS + 5 }, () => makeEvent())
    const confirmed = await broker.publish(events)
    t.same(
      confirmed,
      events.map((_, i) => i < ENVELOPE_EVENTS || i >= 2 * ENVELOPE_EVENTS),
      'the events of the second message are unconfirmed, all the others confirmed',
    )
    t.same(await sqs.depth(queueUrl), { visible: 2, inFlight: 0 })
  })

  t.test(
    'a queue with no RedrivePolicy and no SQS_DLQ_URL starts and carries events',
    async (t) => {
      // The headline bug of 0.1: start() refused such a queue ("dead letters would have nowhere to go").
      const queueUrl = await plainQueue('no-dlq')
      dummyCredentialsInEnv(t)
      const env = {
        SLUICE_BROKER: 'sqs',
        SQS_QUEUE_URL: queueUrl,
        AWS_ENDPOINT_URL_SQS: sqs.endpoint,
      }
      const broker = createBroker(
        brokerChoice(loadConfig(env), { sqs: { waitTimeSeconds: 1 } }),
        createLogger('silent'),
      )
      t.teardown(() => broker.close())
      await broker.start()
      t.equal(broker.state(), 'up')
      const events = [makeEvent(), makeEvent()]
      t.same(await broker.publish(events), [true, true])
      const inbox = await new Inbox(broker).subscribe(2)
      const got = [await inbox.nth(1), await inbox.nth(2)]
      t.same(
        got.map((d) => d.event).sort((a, b) => a.id.localeCompare(b.id)),
        [...events].sort((a, b) => a.id.localeCompare(b.id)),
      )
      for (const d of got) t.equal(d.attempt, 1)
      await Promise.all(got.map((d) => d.ack()))
      t.same(await sqs.depth(queueUrl), { visible: 0, inFlight: 0 }, 'acked: gone')
    },
  )

  t.test('retry(delay): visible again not before the delay, with attempt + 1', async (t) => {
    const queueUrl = await plainQueue('retry')
    const broker = new SqsBroker({ queueUrl, client: sqs.client, waitTimeSeconds: 1 })
    t.teardown(() => broker.close())
    await broker.start()
    const e = makeEvent()
    await broker.publish([e])
    const inbox = await new Inbox(broker).subscribe(1)
    const first = await inbox.nth(1)
    t.equal(first.attempt, 1)
    const retriedAt = Date.now()
    await first.retry(1000)
    const second = await inbox.nth(2)
    t.ok(Date.now() - retriedAt >= 1000, 'not before the delay')
    t.same(second.event, e)
    t.equal(second.attempt, 2)
    // However often it is retried, the adapter never gives up on it: the consumer decides.
    for (let i = 2; i < 12; i++) await (await inbox.nth(i)).retry(0)
    const last = await inbox.nth(12)
    t.equal(last.attempt, 12, 'attempt counts every delivery')
    t.same(last.event, e)
    t.same(await sqs.depth(queueUrl), { visible: 0, inFlight: 1 }, 'still in the queue')
    await last.ack()
    t.same(await sqs.depth(queueUrl), { visible: 0, inFlight: 0 })
  })

  t.test(
    'retry(delay) of part of a message: those events come back alone, not before the delay',
    async (t) => {
      const queueUrl = await plainQueue('retry-subset')
      const broker = new SqsBroker({ queueUrl, client: sqs.client, waitTimeSeconds: 1 })
      t.teardown(() => broker.close())
      await broker.start()
      const events = [makeEvent(), makeEvent(), makeEvent()]
      await broker.publish(events)
      t.same(await sqs.depth(queueUrl), { visible: 1, inFlight: 0 }, 'one message')
      const inbox = await new Inbox(broker).subscribe(ENVELOPE_EVENTS)
      const firsts = [await inbox.nth(1), await inbox.nth(2), await inbox.nth(3)]
      t.same(
        firsts.map((d) => d.attempt),
        [1, 1, 1],
      )
      const [retried, ...acked] = firsts
      const retriedAt = Date.now()
      await Promise.all([retried!.retry(1000), ...acked.map((d) => d.ack())])
      // The original is deleted; the retried event waits in a delayed message of its own.
      t.same(await sqs.depth(queueUrl), { visible: 0, inFlight: 0 }, 'the original is gone')
      t.equal(await delayed(queueUrl), 1, 'one delayed message: the retried subset')
      const second = await inbox.nth(4)
      t.ok(Date.now() - retriedAt >= 1000, 'not before the delay')
      t.same(second.event, retried!.event, 'only the retried event, byte for byte')
      t.equal(second.attempt, 2, 'attempt + 1, though SQS counts its first receive')
      // Now the whole of its message: the receive count goes on from the attempt it carries.
      await second.retry(0)
      const third = await inbox.nth(5)
      t.equal(third.attempt, 3)
      t.same(third.event, retried!.event)
      await third.ack()
      t.equal(inbox.received.length, 5, 'the acked events did not come back')
      t.same(await sqs.depth(queueUrl), { visible: 0, inFlight: 0 })
    },
  )

  t.test('a queue with a RedrivePolicy: the adapter never sends to its DLQ', async (t) => {
    // The RedrivePolicy is the operator's: the adapter neither reads it nor sends to its DLQ.
    const { queueUrl, dlqUrl } = await sqs.createQueue('redrive', 100)
    const broker = new SqsBroker({ queueUrl, client: sqs.client, waitTimeSeconds: 1 })
    t.teardown(() => broker.close())
    await broker.start()
    await broker.publish([makeEvent()])
    const inbox = await new Inbox(broker).subscribe(1)
    for (let i = 1; i < 6; i++) await (await inbox.nth(i)).retry(0)
    t.equal((await inbox.nth(6)).attempt, 6)
    await (await inbox.nth(6)).ack()
    t.same(await sqs.depth(dlqUrl), { visible: 0, inFlight: 0 }, 'nothing sent to its DLQ')
    t.same(await sqs.depth(queueUrl), { visible: 0, inFlight: 0 })
  })

  t.test('a foreign message is delivered as malformed, with its raw body', async (t) => {
    const queueUrl = await plainQueue('foreign')
    const broker = new SqsBroker({ queueUrl, client: sqs.client, waitTimeSeconds: 1 })
    t.teardown(() => broker.close())
    await broker.start()
    const sent = await sqs.client.send(
      new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'hello?' }),
    )
    const d = await (await new Inbox(broker).subscribe(1)).nth(1)
    t.equal(d.event.id, sent.MessageId, 'id from the MessageId')
    t.equal(d.event.source, 'unknown')
    t.equal(d.event.body.toString(), 'hello?', 'raw body kept')
    t.match(d.malformed, /^undecodable/)
    t.equal(d.attempt, 1)
    await d.ack()
    t.same(await sqs.depth(queueUrl), { visible: 0, inFlight: 0 }, 'acked like any delivery')
  })

  t.test('a broken envelope is delivered as malformed, as one delivery', async (t) => {
    const queueUrl = await plainQueue('broken')
    const broker = new SqsBroker({ queueUrl, client: sqs.client, waitTimeSeconds: 1 })
    t.teardown(() => broker.close())
    await broker.start()
    const body = encodeSqsBody([makeEvent(), makeEvent()]).slice(0, -12)
    const sent = await sqs.client.send(
      new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: body }),
    )
    const inbox = await new Inbox(broker).subscribe(ENVELOPE_EVENTS)
    const d = await inbox.nth(1)
    t.equal(d.event.id, sent.MessageId)
    t.equal(d.event.body.toString(), body, 'raw body kept')
    t.match(d.malformed, /^undecodable: truncated envelope/)
    await d.ack()
    t.equal(inbox.received.length, 1)
    t.same(await sqs.depth(queueUrl), { visible: 0, inFlight: 0 })
  })

  t.test('a Sluice message is not malformed', async (t) => {
    const queueUrl = await plainQueue('sluice')
    const broker = new SqsBroker({ queueUrl, client: sqs.client, waitTimeSeconds: 1 })
    t.teardown(() => broker.close())
    await broker.start()
    const events = [makeEvent(), makeEvent()]
    await broker.publish(events)
    const inbox = await new Inbox(broker).subscribe(2)
    const got = [await inbox.nth(1), await inbox.nth(2)]
    t.same(
      got.map((d) => d.malformed),
      [undefined, undefined],
    )
    t.same(
      got.map((d) => d.event),
      events,
      'each event of the envelope is its own delivery',
    )
    await Promise.all(got.map((d) => d.ack()))
  })

  t.test('a message of Sluice 0.1 (the version 1 frame) is still consumed', async (t) => {
    const queueUrl = await plainQueue('v1')
    const broker = new SqsBroker({ queueUrl, client: sqs.client, waitTimeSeconds: 1 })
    t.teardown(() => broker.close())
    await broker.start()
    const e = makeEvent({ body: Buffer.from([0, 0xff, 0x0a]) })
    await sqs.client.send(
      new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: encodeEnvelope(e) }),
    )
    const d = await (await new Inbox(broker).subscribe(1)).nth(1)
    t.same(d.event, e, 'the event as 0.1 sent it')
    t.equal(d.malformed, undefined)
    t.equal(d.attempt, 1)
    await d.ack()
    t.same(await sqs.depth(queueUrl), { visible: 0, inFlight: 0 })
  })

  t.test('visibility is extended while a delivery is unacked', async (t) => {
    const { SQSClient } = await import('@aws-sdk/client-sqs')
    const { queueUrl } = await sqs.createQueue('heartbeat')
    // Each broker on its own client, so the test can watch what each one sends.
    const clientFor = () =>
      new SQSClient({
        endpoint: sqs.endpoint,
        useQueueUrlAsEndpoint: false,
        region: 'us-east-1',
        credentials: dummyCredentials(),
      })
    const holderClient = clientFor()
    const otherClient = clientFor()
    /** Heartbeats: ChangeMessageVisibilityBatch calls by the holder that extended a visibility. */
    let heartbeats = 0
    holderClient.middlewareStack.add(
      (next, context) => async (args) => {
        const out = await next(args)
        const input = args.input as { Entries?: { VisibilityTimeout?: number }[] }
        const output = out.output as { Successful?: unknown[] }
        if (
          context.commandName === 'ChangeMessageVisibilityBatchCommand' &&
          input.Entries?.every((entry) => (entry.VisibilityTimeout ?? 0) > 0) &&
          output.Successful?.length
        )
          heartbeats++
        return out
      },
      { step: 'initialize', name: 'countHeartbeats' },
    )
    /** The other consumer's receive polls that started after `deadline` and completed. */
    let deadline = Infinity
    let latePolls = 0
    otherClient.middlewareStack.add(
      (next, context) => async (args) => {
        const started = Date.now()
        const out = await next(args)
        if (context.commandName === 'ReceiveMessageCommand' && started > deadline) latePolls++
        return out
      },
      { step: 'initialize', name: 'countLatePolls' },
    )
    // Heartbeats come a third of the timeout apart: 6 s leaves a stalled process (fauxqs runs in
    // this one) two whole seconds before a missed beat lets the message reappear.
    const opts = { queueUrl, waitTimeSeconds: 1, visibilityTimeoutSeconds: 6 }
    const holder = new SqsBroker({ ...opts, client: holderClient })
    const other = new SqsBroker({ ...opts, client: otherClient })
    t.teardown(async () => {
      await holder.close()
      await other.close()
      holderClient.destroy()
      otherClient.destroy()
    })
    await holder.start()
    await other.start()
    // One message of three events: two are acked at once, one is held. The message stays in
    // flight until its last event is settled, and its visibility is extended meanwhile.
    await holder.publish([makeEvent(), makeEvent(), makeEvent()])
    const holding = await new Inbox(holder).subscribe(ENVELOPE_EVENTS)
    const [held, ...done] = [await holding.nth(1), await holding.nth(2), await holding.nth(3)]
    await Promise.all(done.map((d) => d.ack()))
    t.same(await sqs.depth(queueUrl), { visible: 0, inFlight: 1 }, 'the message is still held')
    // Received before now with a 6 s visibility timeout: without the heartbeat it reappears by then.
    deadline = Date.now() + opts.visibilityTimeoutSeconds * 1000
    const seen: string[] = []
    await other.subscribe((d) => seen.push(d.event.id), { prefetch: 1 })
    // Held across three heartbeats, while the other consumer keeps polling past the original
    // deadline (two whole long polls, so the last one's outcome has reached the handler).
    await until(
      'three heartbeats and two receive polls after the original deadline',
      () => seen.length > 0 || (heartbeats >= 3 && latePolls >= 2),
    )
    t.same(seen, [], 'no other consumer got the held message, nor its acked events')
    await held.ack()
    t.same(await sqs.depth(queueUrl), { visible: 0, inFlight: 0 }, 'acked: gone')
  })

  t.test('SQS unreachable: publish rejects, state is down, then recovers', async (t) => {
    const { TcpProxy } = await import('./helpers/tcp-proxy.js')
    const { SQSClient } = await import('@aws-sdk/client-sqs')
    const { queueUrl } = await sqs.createQueue('outage')
    const proxy = new TcpProxy('127.0.0.1', Number(new URL(sqs.endpoint).port))
    const port = await proxy.start()
    const client = new SQSClient({
      endpoint: `http://127.0.0.1:${port}`,
      useQueueUrlAsEndpoint: false,
      region: 'us-east-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      maxAttempts: 2,
    })
    const broker = new SqsBroker({ queueUrl, client, waitTimeSeconds: 1 })
    t.teardown(async () => {
      await broker.close()
      client.destroy()
      await proxy.close()
    })
    await broker.start()
    proxy.cut()
    await t.rejects(broker.publish([makeEvent()]), BrokerUnavailableError)
    t.equal(broker.state(), 'down')
    proxy.restore()
    t.same(await broker.publish([makeEvent()]), [true])
    t.equal(broker.state(), 'up')
  })
})

t.test('options are checked', async (t) => {
  t.throws(() => new SqsBroker({ queueUrl: 'nope' }), TypeError)
  t.throws(
    () => new SqsBroker({ queueUrl: 'http://localhost/1/q', waitTimeSeconds: 21 }),
    /options.waitTimeSeconds/,
  )
  t.throws(
    () => new SqsBroker({ queueUrl: 'http://localhost/1/q', visibilityTimeoutSeconds: 0 }),
    /options.visibilityTimeoutSeconds/,
  )
  t.throws(
    () => new SqsBroker({ queueUrl: 'http://localhost/1/q', dlqUrl: 'nope' }),
    /options.dlqUrl/,
  )
  for (const envelopeEvents of [0, -1, 1.5, Number.NaN]) {
    t.throws(
      () => new SqsBroker({ queueUrl: 'http://localhost/1/q', envelopeEvents }),
      /options.envelopeEvents must be a positive integer/,
      `envelopeEvents ${envelopeEvents}`,
    )
  }
  t.throws(
    () => new SqsBroker({ queueUrl: 'http://localhost/1/q', envelopeBytes: 0 }),
    /options.envelopeBytes/,
  )
})

failOnLeaks(t)
