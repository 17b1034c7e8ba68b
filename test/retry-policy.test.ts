import t from 'tap'
import { judge, processingRetry } from '../src/consumer/policy.js'
import { DEFAULT_SCHEDULE, retryDelayMs } from '../src/dispatcher/schedule.js'
import { backoffDelay } from '../src/util/backoff.js'
import {
  EQUAL_JITTER,
  SCHEDULE_JITTER,
  exponentialRetry,
  jittered,
  scheduleRetry,
} from '../src/util/retry-policy.js'
import type { Delivery } from '../src/brokers/types.js'

const low = () => 0
const high = () => 1

t.test('jitter: one function, two spreads', async (t) => {
  t.equal(jittered(1000, EQUAL_JITTER, low), 500, 'equal jitter: half at least')
  t.equal(jittered(1000, EQUAL_JITTER, high), 1000, 'equal jitter: the ceiling at most')
  t.equal(jittered(1000, SCHEDULE_JITTER, low), 800, '-20 %')
  t.equal(jittered(1000, SCHEDULE_JITTER, high), 1200, '+20 %')
  t.equal(
    jittered(1000, SCHEDULE_JITTER, () => 0.5),
    1000,
    'the middle is the step',
  )
})

t.test(
  'the exponential policy: doubles from base, capped, gives up after maxFailures',
  async (t) => {
    const policy = exponentialRetry({ baseMs: 100, capMs: 1000, maxFailures: 6 })
    t.same(
      [1, 2, 3, 4, 5].map((n) => policy.delayMs(n, high)),
      [100, 200, 400, 800, 1000],
    )
    t.equal(policy.delayMs(6, high), null, 'gives up at maxFailures')
    t.equal(exponentialRetry({ baseMs: 100, capMs: 1000 }).delayMs(1e6, low), 500, 'never gives up')
    for (let attempt = 0; attempt < 12; attempt++) {
      const random = () => (attempt % 5) / 5
      t.equal(
        backoffDelay(attempt, 250, 30_000, random, 4),
        exponentialRetry({ baseMs: 250, capMs: 30_000, factor: 4 }).delayMs(attempt + 1, random),
        `backoffDelay(${attempt}) is the policy's wait after ${attempt + 1} failures`,
      )
    }
  },
)

t.test('the outbound schedule: the contract default steps ±20 %, then give up', async (t) => {
  const policy = scheduleRetry(DEFAULT_SCHEDULE)
  t.same(
    DEFAULT_SCHEDULE.map((_, i) => policy.delayMs(i + 1, () => 0.5)),
    [5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000],
  )
  t.equal(policy.delayMs(1, low), 4000)
  t.equal(policy.delayMs(DEFAULT_SCHEDULE.length + 1, high), null, 'no step left')
  t.equal(retryDelayMs(2, DEFAULT_SCHEDULE, undefined, high), policy.delayMs(2, high))
})

t.test('the inbound processing retry: 4x per attempt, dead-letters at maxAttempts', async (t) => {
  const settings = { maxAttempts: 3, retryBaseMs: 1000, retryCapMs: 60_000 }
  const policy = processingRetry(settings)
  t.same(
    [1, 2].map((n) => policy.delayMs(n, high)),
    [1000, 4000],
  )
  t.equal(policy.delayMs(3, high), null)
  const delivery = (attempt: number) => ({ attempt }) as Delivery
  const failed = { ok: false, error: 'db down', permanent: false, processedAt: 0 } as const
  t.match(judge(delivery(2), failed, settings), { action: 'retry', error: 'db down' })
  const last = judge(delivery(3), failed, settings)
  t.match(last, { action: 'dead-letter', reason: 'attempts_exhausted' })
  const delay = judge(delivery(2), failed, settings)
  t.ok(delay.action === 'retry' && delay.delayMs >= 2000 && delay.delayMs <= 4000, 'jittered')
})
