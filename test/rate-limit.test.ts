import t from 'tap'
import { RateLimiter } from '../src/sources/rate-limiter.js'
import { TokenBucket } from '../src/sources/token-bucket.js'
import { buildSources, type IngestSource } from '../src/sources/index.js'
import { sourcesFileSchema } from '../src/sources/schema.js'
import { failOnLeaks } from './helpers/leaks.js'

/** A monotonic clock the test moves by hand. */
function manualClock(start = 1000) {
  let now = start
  return { now: () => now, advance: (ms: number) => void (now += ms) }
}

function build(config: Record<string, unknown>, clock = manualClock()) {
  const { sources } = sourcesFileSchema({}).parse({ sources: config })
  const map = buildSources(sources, { monotonicNow: clock.now })
  const get = (name: string): IngestSource => {
    const s = map.get(name)
    if (!s) throw new Error(`source ${name} not built`)
    return s
  }
  return { get, clock }
}

t.test('token bucket: burst, then the wait until the next token, then refill', async (t) => {
  const bucket = new TokenBucket(2, 3, 0)
  t.same([bucket.take(0), bucket.take(0), bucket.take(0)], [0, 0, 0], 'the burst is granted')
  t.equal(bucket.take(0), 1, 'one token needs 0.5 s: rounded up to 1')
  t.equal(bucket.take(500), 0, 'half a second later one token is back')
  t.equal(bucket.take(500), 1)
  t.notOk(bucket.isFull(600))
  t.ok(bucket.isFull(10_000), 'refills to capacity, never past it')
  t.same(
    [bucket.take(10_000), bucket.take(10_000), bucket.take(10_000), bucket.take(10_000)],
    [0, 0, 0, 1],
  )
  const slow = new TokenBucket(0.1, 1, 0)
  t.equal(slow.take(0), 0)
  t.equal(slow.take(0), 10, 'ten seconds until the next token at 0.1/s')
  t.equal(slow.take(4_000), 6)
  const back = new TokenBucket(1, 2, 10_000)
  t.same(
    [back.take(5_000), back.take(5_000), back.take(5_000)],
    [0, 0, 1],
    'a clock stepping back neither drains nor adds',
  )
  t.equal(back.take(11_000), 0, 'refill resumes from the latest time seen')
})

t.test(
  'a burst over the limit gets 429 rate_limited with retryAfterSeconds, then refills',
  async (t) => {
    const { get, clock } = build({ hot: { rateLimit: { perSecond: 1, burst: 5 } }, calm: {} })
    const hot = get('hot')
    for (let i = 0; i < 5; i++) t.equal(hot.admit('10.0.0.1'), null, `request ${i + 1} admitted`)
    const rejected = hot.admit('10.0.0.1')
    t.match(rejected, { ok: false, status: 429, code: 'rate_limited', retryAfterSeconds: 1 })
    t.match(hot.admit('10.0.0.2'), { status: 429 }, 'per source: another client shares the bucket')
    clock.advance(999)
    t.match(hot.admit('10.0.0.1'), { status: 429 })
    clock.advance(1)
    t.equal(hot.admit('10.0.0.1'), null, 'a token is back after a second')
    t.match(hot.admit('10.0.0.1'), { status: 429 })
    clock.advance(60_000)
    for (let i = 0; i < 5; i++) t.equal(hot.admit('10.0.0.1'), null)
    t.match(hot.admit('10.0.0.1'), { status: 429 }, 'refill stops at the burst')
  },
)

t.test('another source is unaffected', async (t) => {
  const { get } = build({
    hot: { rateLimit: { perSecond: 1, burst: 1 } },
    other: { rateLimit: { perSecond: 1, burst: 3 } },
    open: {},
  })
  t.equal(get('hot').admit('a'), null)
  t.match(get('hot').admit('a'), { status: 429 })
  for (let i = 0; i < 3; i++) t.equal(get('other').admit('a'), null)
  for (let i = 0; i < 1000; i++) t.equal(get('open').admit('a'), null)
})

t.test('retryAfterSeconds is the ceiling of the time to the next token', async (t) => {
  const { get, clock } = build({ slow: { rateLimit: { perSecond: 0.25, burst: 1 } } })
  const slow = get('slow')
  t.equal(slow.admit('x'), null)
  t.match(slow.admit('x'), { retryAfterSeconds: 4 })
  clock.advance(1500)
  t.match(slow.admit('x'), { retryAfterSeconds: 3 })
  clock.advance(2500)
  t.equal(slow.admit('x'), null)
})

t.test('burst defaults to perSecond rounded up', async (t) => {
  const { get } = build({ s: { rateLimit: { perSecond: 2.5 } } })
  const s = get('s')
  t.same([s.admit('a'), s.admit('a'), s.admit('a')], [null, null, null])
  t.match(s.admit('a'), { status: 429 })
})

t.test('per client: each address has its own bucket', async (t) => {
  const { get, clock } = build({ pc: { rateLimit: { perSecond: 1, burst: 2, perClient: true } } })
  const pc = get('pc')
  t.equal(pc.admit('192.0.2.1'), null)
  t.equal(pc.admit('192.0.2.1'), null)
  t.match(pc.admit('192.0.2.1'), { status: 429, code: 'rate_limited', retryAfterSeconds: 1 })
  t.equal(pc.admit('192.0.2.2'), null, 'a second client is not limited by the first')
  t.equal(pc.admit('192.0.2.2'), null)
  t.match(pc.admit('192.0.2.2'), { status: 429 })
  clock.advance(1000)
  t.equal(pc.admit('192.0.2.1'), null)
})

t.test(
  'per-client buckets are bounded: full ones go first, then the least recently used',
  async (t) => {
    const clock = manualClock()
    const limiter = new RateLimiter({
      perSecond: 1,
      burst: 2,
      perClient: true,
      maxClients: 10,
      now: clock.now,
    })
    for (let i = 0; i < 10; i++) limiter.take(`c${i}`)
    t.equal(limiter.clientCount, 10)
    // Leave c0 with one token while every other bucket refills completely.
    clock.advance(500)
    t.equal(limiter.take('c0'), 0)
    clock.advance(1000)
    limiter.take('new-1')
    t.equal(limiter.clientCount, 2, 'all full buckets were dropped, c0 and the newcomer remain')
    t.same(
      [limiter.take('c0'), limiter.take('c0')],
      [0, 1],
      'c0 was not full, so its state was kept',
    )
    // A flood of distinct addresses keeps memory bounded.
    for (let i = 0; i < 10_000; i++) limiter.take(`flood-${i}`)
    t.ok(limiter.clientCount <= 10, `bounded (${limiter.clientCount})`)
  },
)

t.test('constructor checks name the option', async (t) => {
  t.throws(
    () => new RateLimiter({ perSecond: 0 }),
    new TypeError('options.perSecond must be a positive number'),
  )
  t.throws(
    () => new RateLimiter({ perSecond: 1, burst: 0.5 }),
    new TypeError('options.burst must be a positive integer'),
  )
  t.throws(
    () => new RateLimiter({ perSecond: 1, maxClients: 0 }),
    new TypeError('options.maxClients must be a positive integer'),
  )
})

failOnLeaks(t)
