import t, { type Test } from 'tap'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import amqp from 'amqplib'
import { CreateQueueCommand, SendMessageCommand } from '@aws-sdk/client-sqs'
import type { LegacyDeadLetter } from '../src/brokers/types.js'
import { LocalBroker } from '../src/brokers/local/broker.js'
import { RabbitBroker } from '../src/brokers/rabbitmq/broker.js'
import { SqsBroker } from '../src/brokers/sqs/broker.js'
import { encode } from '../src/brokers/rabbitmq/codec.js'
import { encodeEnvelope } from '../src/brokers/sqs/envelope.js'
import { deleteTopology, queueNames } from '../src/brokers/rabbitmq/topology.js'
import { AMQP_URL, Inbox, makeEvent } from './helpers/broker-fixtures.js'
import { startFakeSqs } from './helpers/fauxqs.js'
import {
  declareRabbitTopology01,
  localDeadCount,
  publishRabbitDeadLetter01,
  sendSqsDeadLetter01,
  writeLocalQueue01,
  type OldDeadLetter,
} from './helpers/sluice-0.1.js'
import { until } from './helpers/wait.js'
import { failOnLeaks } from './helpers/leaks.js'

/**
 * Sluice 0.1 kept dead letters in the broker; drainLegacyDeadLetters(take) hands them over once
 * (the pipeline writes them to Postgres in `take`). The contract checked here for every adapter:
 * each letter reaches a `take` that resolved exactly once, with its event, attempts and error;
 * the broker removes a batch only after its `take` resolved, so a `take` that rejects loses
 * nothing; and once drained, a second drain finds nothing.
 */

const oldLetters = (n: number): OldDeadLetter[] =>
  Array.from({ length: n }, (_, i) => ({
    event: makeEvent({ body: Buffer.from([i, 0, 255]) }),
    attempts: (i % 5) + 1,
    lastError: i === 0 ? null : `boom ${i}`,
  }))

/** What 0.1 recorded, as a LegacyDeadLetter (a letter without an error gets the adapter's). */
const expected = (d: OldDeadLetter, noError: string): LegacyDeadLetter => ({
  event: d.event,
  attempts: d.attempts,
  error: d.lastError ?? noError,
  malformed: false,
})

const byId = (a: LegacyDeadLetter, b: LegacyDeadLetter) => a.event.id.localeCompare(b.event.id)

/** A take that records what it was handed; `before` runs first and may throw. */
function recorder(before?: (batch: LegacyDeadLetter[], call: number) => Promise<void> | void) {
  const taken: LegacyDeadLetter[] = []
  const batches: number[] = []
  let calls = 0
  return {
    taken,
    batches,
    get calls() {
      return calls
    },
    take: async (batch: LegacyDeadLetter[]) => {
      const call = ++calls
      await before?.(batch, call)
      // Only the contract's fields (the local adapter's letters also carry their row number).
      taken.push(
        ...batch.map(({ event, attempts, error, malformed }) => ({
          event,
          attempts,
          error,
          malformed,
        })),
      )
      batches.push(batch.length)
    },
  }
}

const pgDown = () => new Error('postgres is down (test)')

t.test('local: the dead table of a 0.1 queue file', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'sluice-legacy-local-'))
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }))
  const letters = oldLetters(150) // more than one batch of 100
  const pending = makeEvent()
  writeLocalQueue01(dataDir, letters, [pending])
  const broker = new LocalBroker({ dataDir, pollIntervalMs: 10 })
  t.teardown(() => broker.close())
  await broker.start()

  t.test('a take that rejects keeps every letter', async (t) => {
    const r = recorder(() => {
      throw pgDown()
    })
    await t.rejects(broker.drainLegacyDeadLetters(r.take), /postgres is down/)
    t.equal(r.calls, 1)
    t.equal(localDeadCount(dataDir), 150, 'nothing removed')
  })

  // What every take that resolved was handed, across the drains below.
  const handedOver: LegacyDeadLetter[] = []

  t.test('a take that rejects on the second batch keeps that batch and the rest', async (t) => {
    const r = recorder((_, call) => {
      if (call === 2) throw pgDown()
    })
    await t.rejects(broker.drainLegacyDeadLetters(r.take), /postgres is down/)
    t.same(r.batches, [100], 'the first batch was taken')
    handedOver.push(...r.taken)
    t.equal(localDeadCount(dataDir), 50, 'only the batch whose take resolved was removed')
  })

  t.test('the next drain hands over the rest, removing each batch after its take', async (t) => {
    const r = recorder((batch) => {
      t.equal(localDeadCount(dataDir), batch.length, 'still in the file while take runs')
    })
    t.equal(await broker.drainLegacyDeadLetters(r.take), 50)
    t.same(r.batches, [50])
    handedOver.push(...r.taken)
    t.equal(localDeadCount(dataDir), null, 'the emptied dead table is dropped')
  })

  t.test('every letter was handed over once, as 0.1 kept it; then nothing is left', async (t) => {
    const want = letters.map((d) => expected(d, 'dead-lettered by Sluice 0.1'))
    t.same([...handedOver].sort(byId), want.sort(byId))
    const again = recorder()
    // As after a restart: a new broker on the same file.
    const restarted = new LocalBroker({ dataDir })
    t.teardown(() => restarted.close())
    await restarted.start()
    t.equal(await restarted.drainLegacyDeadLetters(again.take), 0, 'a second drain finds nothing')
    t.equal(again.calls, 0, 'and does not call take')
  })

  t.test('the queued messages of the 0.1 file are still delivered', async (t) => {
    const d = await (await new Inbox(broker).subscribe(1)).nth(1)
    t.same(d.event, pending)
    t.equal(d.attempt, 2, 'counting the delivery 0.1 made')
    await d.ack()
  })
})

t.test('local: a queue file without a dead table drains nothing', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'sluice-legacy-local-new-'))
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }))
  const broker = new LocalBroker({ dataDir })
  t.teardown(() => broker.close())
  await broker.start()
  const r = recorder()
  t.equal(await broker.drainLegacyDeadLetters(r.take), 0)
  t.equal(r.calls, 0)
})

let n = 0
const uniqueQueue = (prefix: string) =>
  `sluice.${prefix}-${process.pid}-${Date.now().toString(36)}-${++n}`

async function rabbitAdmin(t: Test, queue: string) {
  const admin = await amqp.connect(AMQP_URL)
  const brokers: RabbitBroker[] = []
  t.teardown(async () => {
    for (const b of brokers) await b.close()
    const ch = await admin.createChannel()
    await deleteTopology(ch, queueNames(queue))
    await admin.close()
  })
  const dlqDepth = async () => {
    const ch = await admin.createChannel()
    try {
      return (await ch.checkQueue(`${queue}.dlq`)).messageCount
    } finally {
      await ch.close()
    }
  }
  const broker = () => {
    const b = new RabbitBroker({ url: AMQP_URL, queue, reconnectBaseMs: 100 })
    brokers.push(b)
    return b
  }
  return { admin, dlqDepth, broker }
}

/** Get one message from the main queue and reject it without requeue (0.1's DLX takes it). */
async function peekAndReject(ch: amqp.Channel, queue: string): Promise<boolean> {
  const m = await ch.get(queue, { noAck: false })
  if (!m) return false
  ch.nack(m, false, false)
  return true
}

t.test('rabbitmq: the messages in a 0.1 <queue>.dlq', async (t) => {
  const queue = uniqueQueue('legacy')
  const { admin, dlqDepth, broker: make } = await rabbitAdmin(t, queue)
  const letters = oldLetters(3)
  const ch = await admin.createConfirmChannel()
  await declareRabbitTopology01(ch, queue)
  for (const d of letters) await publishRabbitDeadLetter01(ch, queue, d)
  // One that RabbitMQ itself dead-lettered through the 0.1 DLX (rejected without requeue).
  const rejected = makeEvent()
  ch.sendToQueue(queue, rejected.body, encode(rejected))
  await ch.waitForConfirms()
  await until('the message was rejected into the 0.1 DLX', () => peekAndReject(ch, queue))
  // And one that is not Sluice's at all.
  ch.sendToQueue(`${queue}.dlq`, Buffer.from('foreign bytes'), {
    messageId: 'foreign-dead',
    persistent: true,
  })
  await ch.waitForConfirms()
  await ch.close()
  await until('five letters in the 0.1 DLQ', async () => (await dlqDepth()) === 5)

  const broker = make()
  await broker.start()

  t.test('a take that rejects keeps every letter', async (t) => {
    const r = recorder(() => {
      throw pgDown()
    })
    await t.rejects(broker.drainLegacyDeadLetters(r.take), /postgres is down/)
    t.equal(r.calls, 1)
    t.equal(r.batches.length, 0)
    await until('the letters are back in the DLQ', async () => (await dlqDepth()) === 5)
    t.pass('nothing removed')
  })

  t.test('a process that dies before its removal leaves every letter', async (t) => {
    // take resolves, but the connection is gone before the acks: they stay for the next start.
    const dying = make()
    await dying.start()
    const r = recorder(() => dying.close())
    await t.rejects(dying.drainLegacyDeadLetters(r.take))
    t.equal(r.taken.length, 5, 'they were handed over')
    await until('the letters are back in the DLQ', async () => (await dlqDepth()) === 5)
    t.pass('and are still there, to be taken again (take is keyed by the event)')
  })

  t.test('a drain hands over every letter once, with its event, attempts and error', async (t) => {
    const r = recorder()
    t.equal(await broker.drainLegacyDeadLetters(r.take), 5)
    t.equal(await dlqDepth(), 0, 'removed once taken')
    const got = [...r.taken].sort(byId)
    t.equal(new Set(got.map((l) => l.event.id)).size, 5, 'each once')
    const sluice = got.filter((l) => letters.some((d) => d.event.id === l.event.id))
    t.same(sluice, letters.map((d) => expected(d, 'dead-lettered by Sluice 0.1')).sort(byId))
    t.same(
      got.find((l) => l.event.id === rejected.id),
      {
        event: rejected,
        attempts: 0,
        error: 'dead-lettered by RabbitMQ: rejected',
        malformed: false,
      },
      'a letter RabbitMQ dead-lettered says why',
    )
    const foreign = got.find((l) => l.event.id === 'foreign-dead')
    t.equal(foreign?.malformed, true, 'a foreign message is handed over as malformed')
    t.equal(foreign?.event.source, 'unknown')
    t.equal(foreign?.event.body.toString(), 'foreign bytes', 'with its raw body')

    const again = recorder()
    t.equal(await broker.drainLegacyDeadLetters(again.take), 0, 'a second drain finds nothing')
    t.equal(again.calls, 0)
  })
})

t.test('rabbitmq: no <queue>.dlq (a new install) drains nothing', async (t) => {
  const queue = uniqueQueue('legacy-none')
  const { broker: make } = await rabbitAdmin(t, queue)
  const broker = make()
  await broker.start()
  const r = recorder()
  t.equal(await broker.drainLegacyDeadLetters(r.take), 0)
  t.equal(r.calls, 0)
})

t.test('sqs: the queue SQS_DLQ_URL names', async (t) => {
  const sqs = await startFakeSqs()
  t.teardown(() => sqs.close())
  let q = 0
  const plainQueue = async (name: string) =>
    (
      await sqs.client.send(
        new CreateQueueCommand({ QueueName: `${name}-${process.pid}-legacy-${++q}` }),
      )
    ).QueueUrl!
  const depth = async (url: string) => {
    const d = await sqs.depth(url)
    return d.visible + d.inFlight
  }
  /** A DLQ as 0.1 left it: 12 of its dead-letter copies, one moved by a RedrivePolicy, one foreign. */
  const legacyDlq = async () => {
    const dlqUrl = await plainQueue('dlq')
    const letters = oldLetters(12)
    for (const d of letters) await sendSqsDeadLetter01(sqs.client, dlqUrl, d)
    const redriven = makeEvent()
    await sqs.client.send(
      new SendMessageCommand({ QueueUrl: dlqUrl, MessageBody: encodeEnvelope(redriven) }),
    )
    const foreign = await sqs.client.send(
      new SendMessageCommand({ QueueUrl: dlqUrl, MessageBody: 'not ours' }),
    )
    return { dlqUrl, letters, redriven, foreignId: foreign.MessageId! }
  }
  const queueUrl = await plainQueue('main')
  const brokerFor = (dlqUrl?: string) => {
    const b = new SqsBroker({
      queueUrl,
      client: sqs.client,
      waitTimeSeconds: 1,
      ...(dlqUrl ? { dlqUrl } : {}),
    })
    t.teardown(() => b.close())
    return b
  }

  t.test('a take that rejects deletes nothing', async (t) => {
    const { dlqUrl } = await legacyDlq()
    const broker = brokerFor(dlqUrl)
    await broker.start()
    const r = recorder(() => {
      throw pgDown()
    })
    await t.rejects(broker.drainLegacyDeadLetters(r.take), /postgres is down/)
    t.equal(r.calls, 1)
    // Received, so in flight until their visibility timeout, but not deleted.
    t.equal(await depth(dlqUrl), 14, 'nothing removed')
  })

  t.test('a drain hands over every letter once, deleting each batch after its take', async (t) => {
    const { dlqUrl, letters, redriven, foreignId } = await legacyDlq()
    const broker = brokerFor(dlqUrl)
    await broker.start()
    let handed = 0
    const r = recorder(async (batch) => {
      t.equal(await depth(dlqUrl), 14 - handed, 'the batch is still in the DLQ while take runs')
      handed += batch.length
    })
    t.equal(await broker.drainLegacyDeadLetters(r.take), 14)
    t.ok(r.batches.length >= 2, `in batches of at most 10 (${r.batches.join(', ')})`)
    t.ok(
      r.batches.every((b) => b <= 10),
      'each at most 10',
    )
    t.equal(await depth(dlqUrl), 0, 'deleted once taken')
    const got = [...r.taken].sort(byId)
    t.equal(new Set(got.map((l) => l.event.id)).size, 14, 'each once')
    const sluice = got.filter((l) => letters.some((d) => d.event.id === l.event.id))
    // 0.1 wrote '-' for an empty error.
    t.same(sluice, letters.map((d) => expected(d, '-')).sort(byId))
    const moved = got.find((l) => l.event.id === redriven.id)
    t.same(moved?.event, redriven)
    t.equal(moved?.malformed, false)
    t.match(moved?.error, /RedrivePolicy/, 'a letter the RedrivePolicy moved says so')
    t.type(moved?.attempts, 'number')
    const foreign = got.find((l) => l.event.id === foreignId)
    t.equal(foreign?.malformed, true, 'a foreign body is handed over as malformed')
    t.equal(foreign?.event.body.toString(), 'not ours', 'with its raw body')

    const again = recorder()
    t.equal(await broker.drainLegacyDeadLetters(again.take), 0, 'a second drain finds nothing')
    t.equal(again.calls, 0)
  })

  t.test('without dlqUrl nothing is drained, not even a RedrivePolicy DLQ', async (t) => {
    const { queueUrl: withPolicy, dlqUrl } = await sqs.createQueue('policy')
    await sendSqsDeadLetter01(sqs.client, dlqUrl, oldLetters(1)[0]!)
    const broker = new SqsBroker({ queueUrl: withPolicy, client: sqs.client, waitTimeSeconds: 1 })
    t.teardown(() => broker.close())
    await broker.start()
    const r = recorder()
    t.equal(await broker.drainLegacyDeadLetters(r.take), 0)
    t.equal(r.calls, 0)
    t.equal(await depth(dlqUrl), 1, 'the operator’s DLQ is left alone')
  })
})

failOnLeaks(t)
