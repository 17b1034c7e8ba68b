import t from 'tap'
import { Flow } from '../src/dispatcher/flow.js'
import { Lane } from '../src/dispatcher/lanes.js'
import { decide, retryDelayMs, signalOf } from '../src/dispatcher/schedule.js'
import { deliveryBody, webhookId } from '../src/dispatcher/request.js'
import type { AttemptResult } from '../src/outbound/attempt.js'

const common = { durationMs: 1, excerpt: '', truncated: false }
const failure: AttemptResult = { outcome: 'failure', error: 'status_5xx', message: '', ...common }

t.test(
  'retry schedule: steps with ±20 % jitter, Retry-After as a floor, then failed',
  async (t) => {
    t.equal(
      retryDelayMs(1, [5, 300], undefined, () => 0),
      4000,
      '-20 %',
    )
    t.equal(
      retryDelayMs(1, [5, 300], undefined, () => 1),
      6000,
      '+20 %',
    )
    t.equal(
      retryDelayMs(2, [5, 300], undefined, () => 0.5),
      300_000,
      'the second step',
    )
    t.equal(retryDelayMs(3, [5, 300]), null, 'no step left')
    t.equal(
      retryDelayMs(1, [5], 60_000, () => 1),
      60_000,
      'Retry-After later than the step wins',
    )
    t.equal(
      retryDelayMs(1, [5], 1000, () => 0.5),
      5000,
      'an earlier Retry-After does not hurry it',
    )
    const now = 1_000_000
    t.match(decide(0, { outcome: 'success', status: 200, ...common }, [1], now), {
      status: 'succeeded',
      effect: 'success',
    })
    const gone = { outcome: 'gone', status: 410, error: 'gone', message: '', ...common } as const
    t.match(decide(0, gone, [1], now), {
      status: 'failed',
      effect: 'gone',
    })
    const retry = decide(0, failure, [1], now, () => 0.5)
    t.same(retry, { status: 'pending', nextAttemptAt: new Date(now + 1000), effect: 'failure' })
    t.match(decide(1, failure, [1], now), { status: 'failed', effect: 'failure' }, 'after the last')
    const asked = decide(
      0,
      { ...failure, outcome: 'retry', status: 503, retryAfterMs: 7000 },
      [1],
      now,
    )
    t.same(asked.nextAttemptAt, new Date(now + 7000), 'Retry-After honoured')
    t.same(
      decide(3, failure, [1], now, () => 0.5, true),
      { status: 'pending', nextAttemptAt: new Date(now), effect: 'failure', probe: true },
      'a failed probe stays due and spends no step, even past the last',
    )
    t.same(signalOf({ ...failure, outcome: 'retry', status: 429, retryAfterMs: 2000 }), {
      kind: 'congestion',
      retryAfterMs: 2000,
    })
    t.same(signalOf(failure), { kind: 'congestion' }, 'a 5xx')
    t.same(signalOf({ ...failure, error: 'status_4xx' }), { kind: 'neutral' }, 'a 400')
  },
)

const FLOW = {
  pauseAfterFailures: 10,
  pauseAfterMs: 30_000,
  probeIntervalMs: 30_000,
  holdMaxMs: 5000,
}
const congestion = { kind: 'congestion' } as const
const success = { kind: 'success' } as const

t.test(
  'flow: congestion halves the limit once per round, successes add one per round',
  async (t) => {
    const f = new Flow(8, FLOW)
    t.equal(f.limit(0), 8, 'starts at maxInFlight')
    t.equal(f.observe(congestion, 0, 10), 'narrowed')
    t.equal(f.limit(10), 4, 'halved')
    t.equal(f.observe(congestion, 5, 11), null, 'an attempt started before the decrease')
    t.equal(f.limit(11), 4, 'does not halve it again')
    f.observe(congestion, 12, 20)
    f.observe(congestion, 21, 30)
    f.observe(congestion, 31, 40)
    t.equal(f.limit(40), 1, 'never below one')
    f.observe({ kind: 'neutral' }, 41, 50)
    t.equal(f.limit(50), 1, 'a 4xx says nothing of the load')
    f.observe(success, 51, 60)
    t.equal(f.limit(60), 2, 'from one, a success makes two')
    f.observe(success, 61, 70)
    t.equal(f.limit(70), 2, 'then one per limit of successes')
    f.observe(success, 71, 80)
    t.equal(f.limit(80), 3)
    for (let i = 0; i < 40; i++) f.observe(success, 100 + i, 100 + i)
    t.equal(f.limit(200), 8, 'back to maxInFlight, no further')
    t.equal(f.state(200), 'normal')
  },
)

t.test('flow: Retry-After holds new attempts, bounded; the pause lets nothing by', async (t) => {
  const f = new Flow(4, FLOW)
  t.equal(f.observe({ kind: 'congestion', retryAfterMs: 60_000 }, 0, 1000), 'held')
  t.equal(f.limit(5999), 0, 'held')
  t.equal(f.heldUntil(1000), 6000, 'for holdMaxMs at most, not the minute asked')
  t.equal(f.limit(6000), 2, 'then the narrowed limit')
  t.ok(f.setPaused(true), 'paused')
  t.equal(f.limit(7000), 0)
  t.equal(f.state(7000), 'paused')
  t.ok(f.setPaused(false), 'resumed')
  t.equal(f.limit(7000), 1, 'a resumed receiver starts again from one in flight')
  t.notOk(f.setPaused(false), 'no change, no transition')
})

t.test('lane: in-flight, token bucket, flow control and the probe together', async (t) => {
  const lane = new Lane(
    { maxInFlight: 3, rate: { perSecond: 2, burst: 2 }, paused: false },
    FLOW,
    0,
  )
  t.equal(lane.room(0), 2, 'the burst bounds it')
  lane.started('a', 0)
  lane.started('b', 0)
  t.equal(lane.room(0), 0, 'no token left')
  t.equal(lane.roomAt(0), 500, 'a token in 0.5 s at 2/s')
  t.equal(lane.room(500), 1)
  t.equal(lane.finished('a', congestion, 0, 600), 'narrowed')
  lane.released()
  t.equal(lane.room(600), 0, 'limit 1, one still in flight')
  t.equal(lane.roomAt(600), null, 'room comes back when it finishes, not on a timer')
  lane.finished('b', success, 0, 700)
  lane.released()
  t.equal(lane.room(1000), 2, 'a success: limit 2, and two tokens again')
  t.ok(lane.update({ maxInFlight: 3, rate: null, paused: true }), 'the cache says paused')
  t.equal(lane.room(1000), 0, 'nothing goes while paused')
  t.ok(lane.wantsProbe(1000), 'it asks for a probe slot')
  lane.probeSlot(false, 31_000)
  t.notOk(lane.wantsProbe(1000), 'lost: another node probes')
  t.equal(lane.roomAt(1000), 31_000, 'it asks again when the next probe is due')
  t.ok(lane.wantsProbe(31_000))
  lane.probeSlot(true, 61_000)
  t.equal(lane.room(31_000), 1, 'a won slot is room for one')
  t.ok(lane.started('p', 31_000), 'which is the probe')
  t.equal(lane.room(31_000), 0, 'and only one')
  t.notOk(lane.wantsProbe(62_000), 'no second probe while one is out')
  lane.finished('p', congestion, 31_000, 31_100)
  lane.released()
  t.ok(lane.wantsProbe(62_000), 'after it, the next slot')
  t.ok(lane.update({ maxInFlight: 3, rate: null, paused: false }), 'resumed')
  t.equal(lane.room(62_000), 1, 'from one in flight')
})

t.test('request: webhook-id per (source, id); payload added to JSON objects only', async (t) => {
  t.equal(webhookId('a', 'b'), webhookId('a', 'b'), 'stable')
  t.not(webhookId('a', 'b'), webhookId('a', 'c'))
  t.not(webhookId('ab', 'c'), webhookId('a', 'bc'), 'no ambiguity between source and id')
  t.match(webhookId('src', 'ïd with spaces'), /^msg_[A-Za-z0-9_-]{27}$/, 'visible ASCII')
  const payload = { extra: 1 }
  t.same(JSON.parse(deliveryBody(Buffer.from('{"a":1,"extra":0}'), payload).toString()), {
    a: 1,
    extra: 1,
  })
  for (const body of ['[1,2]', '"x"', 'null', 'not json']) {
    t.equal(deliveryBody(Buffer.from(body), payload).toString(), body, `${body} as it came`)
  }
  const exact = Buffer.from('{"a":  1}')
  t.equal(deliveryBody(exact, null), exact, 'no payload: the very bytes')
})
