import t from 'tap'
import { Breaker } from '../src/dispatcher/breaker.js'
import { Lane } from '../src/dispatcher/lanes.js'
import { decide, retryDelayMs } from '../src/dispatcher/schedule.js'
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
  },
)

t.test(
  'breaker: opens after the threshold, one probe when half-open, success closes',
  async (t) => {
    const b = new Breaker({ threshold: 3, openMs: 1000, maxOpenMs: 4000 })
    t.equal(b.failed(0), null)
    t.equal(b.failed(0), null)
    t.equal(b.allowance(0), Infinity, 'closed below the threshold')
    t.equal(b.failed(0), 'open', 'opens at the threshold')
    t.equal(b.allowance(999), 0, 'nothing goes while open')
    t.equal(b.state(1000), 'half_open')
    t.equal(b.allowance(1000), 1, 'one probe')
    b.started(1000)
    t.equal(b.allowance(1000), 0, 'only one')
    t.equal(b.failed(1100), 'open', 'a failed probe opens it again')
    t.equal(b.allowance(2100 + 999), 0, 'for twice as long')
    t.equal(b.allowance(3100), 1)
    b.started(3100)
    t.equal(b.succeeded(), 'closed', 'a successful probe closes it')
    t.equal(b.allowance(3100), Infinity)
    t.equal(b.failed(3100), null, 'the count starts again')
  },
)

t.test('lane: in-flight cap, token bucket and breaker together', async (t) => {
  const lane = new Lane(
    { maxInFlight: 3, rate: { perSecond: 2, burst: 2 } },
    { threshold: 1, openMs: 500, maxOpenMs: 500 },
    0,
  )
  t.equal(lane.room(0), 2, 'the burst bounds it')
  lane.started(0)
  lane.started(0)
  t.equal(lane.room(0), 0, 'no token left')
  t.equal(lane.roomAt(0), 500, 'a token in 0.5 s at 2/s')
  t.equal(lane.room(500), 1)
  lane.finished(false, 600)
  t.equal(lane.room(600), 0, 'the breaker opened after one failure')
  t.equal(lane.roomAt(600), 1100, 'it half-opens after its period')
  const capped = new Lane(
    { maxInFlight: 2, rate: null },
    { threshold: 5, openMs: 1, maxOpenMs: 1 },
    0,
  )
  capped.started(0)
  capped.started(0)
  t.equal(capped.room(0), 0, 'the in-flight cap')
  t.equal(capped.roomAt(0), null, 'room comes back when one finishes, not on a timer')
  capped.finished(true, 1)
  t.equal(capped.room(1), 0, 'ended, but its lease lasts until the result is written')
  capped.released()
  t.equal(capped.room(1), 1)
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
