import t from 'tap'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { EngineChild } from './helpers/engine-child.js'
import { receiver, type Received } from './helpers/dispatch.js'
import { freshDatabase } from './helpers/pg.js'
import { post } from './helpers/post.js'
import { until } from './helpers/wait.js'
import pg from 'pg'
import { writeDeadLetters } from '../src/db/dead-letters.js'
import { failOnLeaks } from './helpers/leaks.js'

/**
 * One event's trace, end to end: the engine runs as a child with its OTLP endpoint pointed at
 * an in-process receiver (the exporter posts OTLP/HTTP JSON to /v1/traces), receives one
 * webhook that carries a sender's traceparent, stores it and delivers it to a subscriber. After
 * a graceful stop (which exports what the threads still buffer) every span of the event must
 * be in one trace that continues the sender's.
 */

interface OtlpSpan {
  traceId: string
  spanId: string
  parentSpanId?: string
  name: string
  attributes?: Array<{ key: string; value: Record<string, unknown> }>
}
interface OtlpBody {
  resourceSpans: Array<{ scopeSpans: Array<{ spans: OtlpSpan[] }> }>
}

const spansIn = (posts: Received[]): OtlpSpan[] =>
  posts.flatMap((p) =>
    (JSON.parse(p.body.toString()) as OtlpBody).resourceSpans.flatMap((r) =>
      r.scopeSpans.flatMap((s) => s.spans),
    ),
  )
const attribute = (s: OtlpSpan, key: string) => {
  const v = s.attributes?.find((a) => a.key === key)?.value
  return v === undefined ? undefined : Object.values(v)[0]
}

const SENDER_TRACE = '4bf92f3577b34da6a3ce929d0e0e4736'
const SENDER_SPAN = '00f067aa0ba902b7'
const TOKEN = 'otel-trace-test-token-0123456789'

t.test('one event’s spans are one trace, continuing the sender’s', async (t) => {
  const collector = await receiver()
  const subscriber = await receiver()
  const db = await freshDatabase('sluice_otel')
  const dir = mkdtempSync(join(tmpdir(), 'sluice-otel-'))
  const engine = new EngineChild({
    SLUICE_DATA_DIR: dir,
    DATABASE_URL: db.url,
    SLUICE_BROKER: 'local',
    SLUICE_WORKERS: '1',
    SLUICE_ADMIN_TOKEN: TOKEN,
    SLUICE_OUTBOUND_ALLOW: '127.0.0.0/8',
    OTEL_EXPORTER_OTLP_ENDPOINT: collector.origin,
    OTEL_SERVICE_NAME: 'sluice-under-test',
  })
  t.teardown(async () => {
    await engine.kill9()
    await Promise.all([collector.close(), subscriber.close()])
    await db.drop()
    rmSync(dir, { recursive: true, force: true })
  })
  await engine.start()

  const admin = `http://127.0.0.1:${engine.adminPort}/v1/subscriptions`
  // The admin API answers 503 until the pipeline has the database: ask until it takes it.
  await until(
    'the subscription is created',
    async () =>
      (
        await fetch(admin, {
          method: 'POST',
          headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
          body: JSON.stringify({ url: subscriber.url() }),
        })
      ).status === 201,
    60_000,
  )

  const sender = `00-${SENDER_TRACE}-${SENDER_SPAN}-01`
  // An invalid traceparent (all-zero trace id) is not continued: that event starts a trace.
  const invalid = `00-${'0'.repeat(32)}-${SENDER_SPAN}-01`
  for (const [id, traceparent] of [
    ['traced-1', sender],
    ['traced-2', invalid],
  ] as const) {
    const answer = await post(engine.url, '{"type":"order.paid"}', {
      'idempotency-key': id,
      traceparent,
    })
    t.equal(answer.status, 200, answer.body)
  }
  await until('the subscriber got both events', () => subscriber.received.length === 2, 60_000)

  // A dead letter keeps its event's traceparent: redriven, the event is stored in that trace.
  const LETTER_TRACE = 'aaf92f3577b34da6a3ce929d0e0e4736'
  const LETTER_SPAN = 'bbf067aa0ba902b7'
  const pool = new pg.Pool({ connectionString: db.url, max: 1 })
  await writeDeadLetters(pool, [
    {
      event: {
        id: 'redriven-1',
        source: 'default',
        receivedAt: Date.now(),
        contentType: 'application/json',
        headers: {},
        body: Buffer.from('{"type":"order.paid"}'),
        verifiedBy: null,
        traceparent: `00-${LETTER_TRACE}-${LETTER_SPAN}-01`,
      },
      reason: 'attempts_exhausted',
      attempts: 5,
      error: 'the database was down',
    },
  ]).finally(() => pool.end())
  const redrive = await fetch(`http://127.0.0.1:${engine.adminPort}/v1/dead-letters/redrive`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: '{}',
  })
  t.same(await redrive.json(), { count: 1, failed: 0 }, 'the dead letter is redriven')
  await until('the subscriber got the redriven event', () => subscriber.received.length === 3)
  t.equal(await engine.stop(), 0, 'a graceful stop, which exports the buffered spans')

  const all = spansIn(collector.received.filter((r) => r.url === '/v1/traces'))
  const receiveOf = (id: string) =>
    all.find((s) => s.name === 'sluice.receive' && attribute(s, 'sluice.event.id') === id)
  const traceOf = (id: string) => all.filter((s) => s.traceId === receiveOf(id)?.traceId)
  const names = (spans: OtlpSpan[]) => spans.map((s) => s.name).sort()
  const PATH = [
    'sluice.deliver',
    'sluice.forward',
    'sluice.journal.commit',
    'sluice.receive',
    'sluice.store',
  ]
  /** The traceparent header the subscriber got for a trace. */
  const sentIn = (trace: string | undefined) =>
    subscriber.received
      .map((r) => String(r.headers.traceparent))
      .find((h) => h.split('-')[1] === trace)

  const spans = traceOf('traced-1')
  t.same(names(spans), PATH, 'one span per step of the first event, in one trace')
  const named = (name: string) => spans.find((s) => s.name === name)
  const receive = named('sluice.receive')!
  t.equal(receive.traceId, SENDER_TRACE, 'the sender’s trace')
  t.equal(receive.parentSpanId, SENDER_SPAN, 'receive continues the sender’s span')
  for (const name of ['sluice.journal.commit', 'sluice.forward', 'sluice.store']) {
    t.equal(named(name)?.parentSpanId, receive.spanId, `${name} is a child of receive`)
  }
  const deliver = named('sluice.deliver')!
  t.equal(deliver.parentSpanId, named('sluice.store')?.spanId, 'deliver is a child of store')
  t.equal(attribute(deliver, 'http.response.status_code'), 200)
  t.equal(attribute(deliver, 'sluice.delivery.attempt'), 1)
  t.equal(
    sentIn(SENDER_TRACE),
    `00-${SENDER_TRACE}-${deliver.spanId}-01`,
    'the subscriber got the attempt span as its traceparent',
  )

  const fresh = receiveOf('traced-2')
  t.ok(fresh, 'the second event has a receive span')
  t.not(fresh?.traceId, SENDER_TRACE, 'in a trace of its own')
  t.notOk(fresh?.parentSpanId, 'which it starts: the invalid traceparent is not continued')
  t.same(names(traceOf('traced-2')), PATH, 'its whole path is in that trace')
  t.match(sentIn(fresh?.traceId), /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/, 'and reaches the subscriber')

  const redriven = all.filter((s) => s.traceId === LETTER_TRACE)
  t.same(
    names(redriven),
    ['sluice.deliver', 'sluice.store'],
    'the redrive is in the letter’s trace',
  )
  const store = redriven.find((s) => s.name === 'sluice.store')
  t.equal(store?.parentSpanId, LETTER_SPAN, 'its store continues the span the letter kept')
  t.ok(sentIn(LETTER_TRACE), 'and the subscriber got that trace')

  t.ok(
    collector.received.some((r) => r.body.includes('sluice-under-test')),
    'OTEL_SERVICE_NAME names the service',
  )
})

failOnLeaks(t)
