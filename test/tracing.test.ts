import t from 'tap'
import type { StorableEvent } from '../src/event.js'
import { formatTraceparent, parseTraceparent } from '../src/util/traceparent.js'
import { tracingOptions } from '../src/tracing/types.js'
import { tracingWarnings } from '../src/tracing/warnings.js'
import { loadConfig } from '../src/config.js'
import type { EventTracer, SpanValue } from '../src/tracing/types.js'
import { traceProcessor, tracePublisher } from '../src/tracing/decorators.js'
import { makeEvent } from './helpers/broker-fixtures.js'

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736'
const SPAN = '00f067aa0ba902b7'

t.test('traceparent: valid headers parse, anything else starts a new trace', async (t) => {
  t.same(parseTraceparent(`00-${TRACE}-${SPAN}-01`), { traceId: TRACE, spanId: SPAN, flags: 1 })
  t.same(parseTraceparent(` 00-${TRACE}-${SPAN}-00 `)?.flags, 0, 'unsampled, spaces trimmed')
  t.same(
    parseTraceparent(`01-${TRACE}-${SPAN}-01-more`)?.traceId,
    TRACE,
    'a later version may add fields',
  )
  for (const bad of [
    undefined,
    '',
    `00-${TRACE}-${SPAN}`,
    `00-${TRACE}-${SPAN}-01-more`,
    `ff-${TRACE}-${SPAN}-01`,
    `00-${'0'.repeat(32)}-${SPAN}-01`,
    `00-${TRACE}-${'0'.repeat(16)}-01`,
    `00-${TRACE.toUpperCase()}-${SPAN}-01`,
    `00-${TRACE}x-${SPAN}-01`,
  ]) {
    t.equal(parseTraceparent(bad), null, `refused: ${JSON.stringify(bad)}`)
  }
  t.equal(formatTraceparent({ traceId: TRACE, spanId: SPAN, flags: 1 }), `00-${TRACE}-${SPAN}-01`)
})

t.test('tracing is on with an OTLP endpoint, unless the SDK is disabled', async (t) => {
  const base = {
    OTEL_EXPORTER_OTLP_ENDPOINT: undefined,
    OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: undefined,
    OTEL_SDK_DISABLED: false,
    OTEL_SERVICE_NAME: 'sluice',
    OTEL_TRACES_EXPORTER: ['otlp'],
  }
  t.equal(tracingOptions(base, 'http'), null, 'no endpoint: off')
  t.same(tracingOptions({ ...base, OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318/' }, 'http'), {
    url: 'http://c:4318/v1/traces',
    serviceName: 'sluice',
    thread: 'http',
  })
  const traces = 'http://c:4318/custom'
  t.equal(
    tracingOptions(
      {
        ...base,
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://x',
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: traces,
      },
      'pipeline',
    )?.url,
    traces,
    'the traces endpoint is used as given and wins',
  )
  t.equal(
    tracingOptions(
      { ...base, OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c', OTEL_SDK_DISABLED: true },
      'x',
    ),
    null,
    'OTEL_SDK_DISABLED=true: off',
  )
  t.equal(
    tracingOptions(
      { ...base, OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c', OTEL_TRACES_EXPORTER: ['none'] },
      'x',
    ),
    null,
    'OTEL_TRACES_EXPORTER=none: off',
  )
})

t.test('the OpenTelemetry variables are read leniently, as the specification asks', async (t) => {
  const on = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318' }
  const traced = (env: NodeJS.ProcessEnv) => tracingOptions(loadConfig({ ...on, ...env }), 'x')
  for (const value of ['true', 'TRUE', ' True ']) {
    t.equal(traced({ OTEL_SDK_DISABLED: value }), null, `OTEL_SDK_DISABLED=${value}: off`)
  }
  for (const value of ['false', 'yes', '1', 'disabled', '']) {
    t.not(traced({ OTEL_SDK_DISABLED: value }), null, `OTEL_SDK_DISABLED=${value}: on, no error`)
  }
  for (const value of ['', '   ']) {
    t.equal(
      loadConfig({ OTEL_SERVICE_NAME: value }).OTEL_SERVICE_NAME,
      'sluice',
      `OTEL_SERVICE_NAME=${JSON.stringify(value)}: the default`,
    )
  }
  t.equal(traced({ OTEL_TRACES_EXPORTER: 'none' }), null, 'OTEL_TRACES_EXPORTER=none: off')
  t.equal(traced({ OTEL_TRACES_EXPORTER: ' None ' }), null, 'any case, blanks ignored')
  t.not(traced({ OTEL_TRACES_EXPORTER: 'otlp' }), null, 'OTEL_TRACES_EXPORTER=otlp: on')
  for (const protocol of ['grpc', 'http/protobuf', 'anything']) {
    t.not(traced({ OTEL_EXPORTER_OTLP_PROTOCOL: protocol }), null, `${protocol}: on, no error`)
  }
})

t.test('another protocol or exporter is a warning naming the variable and value', async (t) => {
  const warnings = (env: NodeJS.ProcessEnv) =>
    tracingWarnings(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', ...env }))
  t.same(warnings({}), [], 'nothing set: no warning')
  t.same(warnings({ OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' }), [], 'http/json: none')
  const grpc = warnings({ OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' })
  t.equal(grpc.length, 1)
  t.match(grpc[0], {
    variable: 'OTEL_EXPORTER_OTLP_PROTOCOL',
    value: 'grpc',
    message: /OTEL_EXPORTER_OTLP_PROTOCOL is grpc.*OTLP\/HTTP JSON only/,
  })
  t.match(
    warnings({
      OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc',
      OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/protobuf',
    }),
    [{ variable: 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL', value: 'http/protobuf' }],
    'the traces variable wins and is the one named',
  )
  t.same(
    warnings({
      OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc',
      OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/json',
    }),
    [],
    'the traces variable says http/json: what Sluice sends',
  )
  t.match(warnings({ OTEL_TRACES_EXPORTER: 'otlp,console' }), [
    { variable: 'OTEL_TRACES_EXPORTER', value: 'otlp,console', message: /console ignored/ },
  ])
  t.same(
    tracingWarnings(loadConfig({ OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' })),
    [],
    'tracing off (no endpoint): nothing is sent, no warning',
  )
})

/** A tracer that records what it was asked; span n's traceparent names span id n. */
function fakeTracer() {
  const spans: Array<{
    name: string
    parent: string | null | undefined
    attrs: Record<string, SpanValue>
    failed?: string
    ended: boolean
    traceparent: string
  }> = []
  const tracer: EventTracer = {
    start(name, _kind, parent, attributes = {}) {
      const span = {
        name,
        parent,
        attrs: { ...attributes },
        ended: false,
        traceparent: `00-${TRACE}-${String(spans.length + 1).padStart(16, '0')}-01`,
      } as (typeof spans)[number]
      spans.push(span)
      return {
        traceparent: span.traceparent,
        set: (k, v) => void (span.attrs[k] = v),
        fail: (m) => void (span.failed = m),
        end: () => void (span.ended = true),
      }
    },
    shutdown: async () => {},
  }
  return { tracer, spans }
}

t.test('store spans: the worker gets the store span as the event’s traceparent', async (t) => {
  const { tracer, spans } = fakeTracer()
  const parent = `00-${TRACE}-${SPAN}-01`
  const events = [makeEvent({ traceparent: parent }), makeEvent()] as StorableEvent[]
  let given: StorableEvent[] = []
  const processor = traceProcessor(
    {
      run: async (batch) => {
        given = batch
        return [
          { ok: true, inserted: true, processedAt: 1 },
          { ok: false, error: 'boom', permanent: false, processedAt: 1 },
        ]
      },
    },
    tracer,
  )
  await processor.run(events)
  t.equal(spans.length, 1, 'only the event that carries a trace gets a span')
  t.match(spans[0], {
    name: 'sluice.store',
    parent,
    ended: true,
    attrs: { 'sluice.inserted': true },
  })
  t.equal(given[0]!.traceparent, spans[0]!.traceparent, 'the worker stores the store span')
  t.equal(given[1], events[1], 'the other event goes as it was')
  t.equal(events[0]!.traceparent, parent, "the caller's event is not changed")
})

t.test('forward spans: a refused publish fails them, and they end', async (t) => {
  const { tracer, spans } = fakeTracer()
  const parent = `00-${TRACE}-${SPAN}-01`
  const events = [makeEvent({ traceparent: parent }), makeEvent({ traceparent: parent })]
  const confirmed = tracePublisher({ publish: async () => [true, false] }, tracer)
  t.same(await confirmed.publish(events), [true, false], 'the broker’s answer, unchanged')
  t.same(
    spans.map((s) => [s.name, s.parent, s.ended, s.failed]),
    [
      ['sluice.forward', parent, true, undefined],
      ['sluice.forward', parent, true, 'not confirmed by the broker; published again'],
    ],
  )
  const down = tracePublisher(
    {
      publish: async () => {
        throw new Error('broker unreachable')
      },
    },
    tracer,
  )
  await t.rejects(down.publish(events.slice(0, 1)), /broker unreachable/)
  t.match(spans[2], { failed: 'broker unreachable', ended: true })
})
