import t from 'tap'
import {
  SendMessageBatchCommand,
  type SQSClient,
  type SendMessageBatchCommandOutput,
} from '@aws-sdk/client-sqs'
import { startFakeSqs } from './helpers/fauxqs.js'
import { Inbox, makeEvent } from './helpers/broker-fixtures.js'
import { SqsBroker } from '../src/brokers/sqs/broker.js'
import { BrokerUnavailableError } from '../src/brokers/errors.js'
import { planBatches } from '../src/brokers/sqs/publish.js'
import {
  SQS_MAX_EVENT_BYTES,
  SQS_MAX_MESSAGE_BYTES,
  decodeEnvelope,
  encodeEnvelope,
} from '../src/brokers/sqs/envelope.js'
import { eventBytes } from '../src/brokers/size.js'
import { createBroker } from '../src/brokers/index.js'
import { loadConfig } from '../src/config.js'
import { createLogger } from '../src/log.js'
import { failOnLeaks } from './helpers/leaks.js'

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

t.test('the envelope keeps exact bytes; the largest allowed event fits one message', async (t) => {
  const e = makeEvent({ body: Buffer.from([0, 255, 10, 13, 0xd8, 0x00]) })
  t.same(decodeEnvelope(encodeEnvelope(e)), e)
  t.throws(() => decodeEnvelope('bm90IGEgZnJhbWU='), 'a foreign body is refused')
  const base = makeEvent({ body: Buffer.alloc(0) })
  const largest = { ...base, body: Buffer.alloc(SQS_MAX_EVENT_BYTES - eventBytes(base), 0xab) }
  t.equal(eventBytes(largest), SQS_MAX_EVENT_BYTES)
  t.ok(
    Buffer.byteLength(encodeEnvelope(largest)) <= SQS_MAX_MESSAGE_BYTES - 8192,
    'fits with room for DLQ attributes',
  )
})

t.test('against fauxqs', async (t) => {
  const sqs = await startFakeSqs()
  t.teardown(() => sqs.close())

  t.test('the configured endpoint wins over the queue URL host', async (t) => {
    const { queueUrl } = await sqs.createQueue('endpoint')
    t.match(
      new URL(queueUrl).hostname,
      /^sqs\.us-east-1\.localhost$/,
      'fauxqs names an unresolvable host',
    )
    const saved = { ...process.env }
    Object.assign(process.env, { AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test' })
    t.teardown(() => {
      for (const k of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY']) {
        if (saved[k] === undefined) delete process.env[k]
        else process.env[k] = saved[k]
      }
    })
    const config = loadConfig({
      SLUICE_BROKER: 'sqs',
      SQS_QUEUE_URL: queueUrl,
      AWS_ENDPOINT_URL_SQS: sqs.endpoint,
      SLUICE_DATA_DIR: '/nonexistent',
    })
    const broker = createBroker(config, createLogger('silent'), { sqs: { waitTimeSeconds: 1 } })
    t.teardown(() => broker.close())
    t.equal(broker.name, 'sqs')
    await broker.start()
    t.equal(broker.features.nativeRedrive, true, 'the RedrivePolicy is found')
    const e = makeEvent()
    t.same(await broker.publish([e]), [true])
    const d = await (await new Inbox(broker).subscribe(1)).nth(1)
    t.same(d.event, e)
    await d.ack()
  })

  t.test(
    'the largest event the HTTP server lets through is published and dead-lettered',
    async (t) => {
      const { queueUrl } = await sqs.createQueue('largest')
      const broker = new SqsBroker({ queueUrl, client: sqs.client, waitTimeSeconds: 1 })
      t.teardown(() => broker.close())
      await broker.start()
      // Worst case for the envelope: metadata the server does not count, escaped ('"' doubles).
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
      // The server's measure: body + JSON of the headers.
      const room = SQS_MAX_EVENT_BYTES - Buffer.byteLength(JSON.stringify(headers))
      const largest = { ...base, body: Buffer.alloc(room, 0xfe) }
      t.same(await broker.publish([largest]), [true], 'it fits one message')
      const d = await (await new Inbox(broker).subscribe(1)).nth(1)
      t.ok(d.event.body.equals(largest.body))
      await d.deadLetter('é'.repeat(5000))
      const [dead] = await broker.deadLetters.list()
      t.equal(dead?.event.id, largest.id, 'and its dead letter, with a long error, fits too')
      t.equal(dead?.lastError?.length, 1024, 'the error is cut to 1024 characters')
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
          const out = (await sqs.client.send(
            new SendMessageBatchCommand({ ...cmd.input, Entries: kept }),
          )) as SendMessageBatchCommandOutput
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
    const events = [makeEvent(), makeEvent(), makeEvent()]
    t.same(await broker.publish(events), [true, true, true])
    t.equal(calls, 2, 'one retry call')
    const depth = await sqs.depth(queueUrl)
    t.equal(depth.visible, 3, 'no duplicates: the confirmed entries were not resent')
  })

  t.test('a message already received maxReceiveCount times goes to the DLQ natively', async (t) => {
    const { queueUrl, dlqUrl } = await sqs.createQueue('native', 1)
    const broker = new SqsBroker({ queueUrl, client: sqs.client, waitTimeSeconds: 1 })
    t.teardown(() => broker.close())
    await broker.start()
    const e = makeEvent()
    await broker.publish([e])
    const inbox = await new Inbox(broker).subscribe(1)
    await (await inbox.nth(1)).retry(0, 'boom')
    // The next receive finds the receive count exhausted: SQS moves it to the DLQ.
    const deadline = Date.now() + 60_000
    let dead = await broker.deadLetters.list()
    while (dead.length === 0 && Date.now() < deadline) dead = await broker.deadLetters.list()
    t.equal(dead[0]?.event.id, e.id, 'the redrive policy moved it')
    t.match(dead[0]?.lastError, /redrive policy/, 'and the list says why')
    t.equal((await sqs.depth(dlqUrl)).visible, 1, 'browsing left it in the DLQ')
  })

  t.test('a foreign message is dead-lettered as undecodable and still listed', async (t) => {
    const { SendMessageCommand } = await import('@aws-sdk/client-sqs')
    const { queueUrl } = await sqs.createQueue('foreign')
    const broker = new SqsBroker({ queueUrl, client: sqs.client, waitTimeSeconds: 1 })
    t.teardown(() => broker.close())
    await broker.start()
    await sqs.client.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'hello?' }))
    const delivered: string[] = []
    await broker.subscribe((d) => delivered.push(d.event.id), { prefetch: 1 })
    let dead = await broker.deadLetters.list()
    for (let i = 0; dead.length === 0 && i < 600; i++) dead = await broker.deadLetters.list()
    t.equal(dead[0]?.event.source, 'unknown')
    t.equal(dead[0]?.event.body.toString(), 'hello?', 'raw body kept')
    t.match(dead[0]?.lastError, /^undecodable/)
    t.same(delivered, [], 'never handed to the subscriber')
  })

  t.test('visibility is extended while a delivery is unacked', async (t) => {
    const { queueUrl } = await sqs.createQueue('heartbeat')
    const opts = { queueUrl, client: sqs.client, waitTimeSeconds: 1, visibilityTimeoutSeconds: 3 }
    const holder = new SqsBroker(opts)
    const other = new SqsBroker(opts)
    t.teardown(async () => {
      await holder.close()
      await other.close()
    })
    await holder.start()
    await other.start()
    const e = makeEvent()
    await holder.publish([e])
    const held = await (await new Inbox(holder).subscribe(1)).nth(1)
    const seen: string[] = []
    await other.subscribe((d) => seen.push(d.event.id), { prefetch: 1 })
    // Hold it for three visibility timeouts: without the heartbeat it would reappear.
    await new Promise((r) => setTimeout(r, 9000))
    t.same(seen, [], 'no other consumer got the held message')
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
    proxy.cutLink()
    await t.rejects(broker.publish([makeEvent()]), BrokerUnavailableError)
    t.equal(broker.state(), 'down')
    proxy.restore()
    t.same(await broker.publish([makeEvent()]), [true])
    t.equal(broker.state(), 'up')
  })

  t.test('start fails without any DLQ', async (t) => {
    const { CreateQueueCommand } = await import('@aws-sdk/client-sqs')
    const q = await sqs.client.send(new CreateQueueCommand({ QueueName: `no-dlq-${process.pid}` }))
    const broker = new SqsBroker({ queueUrl: q.QueueUrl!, client: sqs.client })
    t.teardown(() => broker.close())
    await t.rejects(broker.start(), /RedrivePolicy/)
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
})

failOnLeaks(t)
