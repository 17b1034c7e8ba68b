import t from 'tap'
import type { MessageProperties, Options } from 'amqplib'
import { eventBytes } from '../src/event.js'
import {
  ENVELOPE_BYTES_PER_EVENT,
  ENVELOPE_HEADER_BYTES,
  decodeEnvelope,
  encodeEnvelope,
  isEnvelope,
} from '../src/brokers/envelope/codec.js'
import { packEnvelopes } from '../src/brokers/envelope/pack.js'
import { decodeMessage, encode, encodeMessage } from '../src/brokers/rabbitmq/codec.js'
import {
  SQS_MAX_EVENT_BYTES,
  SQS_MAX_MESSAGE_BYTES,
  decodeSqsBody,
  encodeEnvelope as encodeSqsV1,
  encodeSqsBody,
} from '../src/brokers/sqs/envelope.js'
import { makeEvent } from './helpers/broker-fixtures.js'
import { failOnLeaks } from './helpers/leaks.js'

t.test('round trip: exact bytes and metadata of every event, in order', async (t) => {
  const events = [
    makeEvent(),
    makeEvent({ body: Buffer.from([0, 255, 0x80, 0x0a]), contentType: 'application/octet-stream' }),
    makeEvent({ body: Buffer.alloc(0), headers: {}, verifiedBy: null, source: 'default' }),
    makeEvent({ traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' }),
  ]
  const data = encodeEnvelope(events)
  t.ok(isEnvelope(data), 'recognised by its magic')
  t.same(decodeEnvelope(data), events)
  t.ok(decodeEnvelope(data)[1]!.body.equals(events[1]!.body))
  t.notOk('traceparent' in decodeEnvelope(data)[0]!, 'an event without one has no such key')
  t.equal(decodeEnvelope(data)[3]!.traceparent, events[3]!.traceparent)
  const bound =
    ENVELOPE_HEADER_BYTES + events.reduce((n, e) => n + eventBytes(e) + ENVELOPE_BYTES_PER_EVENT, 0)
  t.ok(data.length <= bound, `${data.length} bytes within the packing bound ${bound}`)
})

t.test('malformed envelopes are refused with what is wrong', async (t) => {
  const data = encodeEnvelope([makeEvent(), makeEvent()])
  t.throws(() => decodeEnvelope(data.subarray(0, data.length - 3)), /truncated envelope/)
  t.throws(() => decodeEnvelope(Buffer.concat([data, Buffer.from('x')])), /bytes after/)
  t.throws(() => decodeEnvelope(Buffer.from('not an envelope')), /bad magic/)
  t.notOk(isEnvelope(Buffer.from('SLv')), 'too short to be one')
})

t.test('packing keeps order and honours both limits; a big event travels alone', async (t) => {
  const small = Array.from({ length: 120 }, () => makeEvent())
  const groups = packEnvelopes(small, { maxEvents: 50, maxBytes: 1 << 20 })
  t.same(
    groups.map((g) => g.length),
    [50, 50, 20],
  )
  t.same(
    groups.flat(),
    small.map((_, i) => i),
    'every event once, in order',
  )
  const big = makeEvent({ body: Buffer.alloc(5000, 1) })
  const mixed = [makeEvent(), big, makeEvent(), makeEvent()]
  const byBytes = packEnvelopes(mixed, { maxEvents: 50, maxBytes: 3000 })
  t.same(byBytes, [[0], [1], [2, 3]], 'an event over maxBytes gets an envelope of its own')
  for (const g of byBytes.filter((g) => g.length > 1)) {
    const size = encodeEnvelope(g.map((i) => mixed[i]!)).length
    t.ok(size <= 3000, `a packed envelope (${size} bytes) stays within maxBytes`)
  }
})

t.test('RabbitMQ: an envelope message, and a message of Sluice 0.1 still read', async (t) => {
  const events = [makeEvent(), makeEvent()]
  const { body, options } = encodeMessage(events)
  // amqplib hands the publish options back as message properties; only these fields matter.
  const asProperties = (o: Options.Publish) =>
    ({
      headers: o.headers as unknown,
      contentType: o.contentType,
      messageId: o.messageId,
    }) as MessageProperties
  t.same(decodeMessage(body, asProperties(options)), events, 'version 2')
  const old = makeEvent()
  t.same(
    decodeMessage(old.body, asProperties(encode(old))),
    [old],
    'version 1: one event, metadata in headers',
  )
  t.throws(() => decodeMessage(Buffer.from('hi'), { headers: {} } as MessageProperties))
})

t.test('SQS: bodies of many events, version 1 still read, the largest event fits', async (t) => {
  const events = [makeEvent(), makeEvent()]
  t.same(decodeSqsBody(encodeSqsBody(events)), events, 'version 2')
  const old = makeEvent()
  t.same(decodeSqsBody(encodeSqsV1(old)), [old], 'version 1 frame')
  const base = makeEvent({ body: Buffer.alloc(0) })
  const largest = { ...base, body: Buffer.alloc(SQS_MAX_EVENT_BYTES - eventBytes(base), 7) }
  t.equal(eventBytes(largest), SQS_MAX_EVENT_BYTES)
  t.ok(
    Buffer.byteLength(encodeSqsBody([largest])) <= SQS_MAX_MESSAGE_BYTES,
    'the largest admissible event fits one message as an envelope of one',
  )
})

failOnLeaks(t)
