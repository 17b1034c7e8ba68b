import t from 'tap'
import { backoffDelay, sleep } from '../src/util/backoff.js'
import { failOnLeaks } from './helpers/leaks.js'

t.test('back-off doubles, is capped, and never drops under half the base', async (t) => {
  const low = () => 0
  const high = () => 1
  t.equal(backoffDelay(0, 100, 10_000, low), 50)
  t.equal(backoffDelay(0, 100, 10_000, high), 100)
  t.equal(backoffDelay(3, 100, 10_000, high), 800)
  t.equal(backoffDelay(3, 100, 10_000, low), 400)
  t.equal(backoffDelay(20, 100, 10_000, high), 10_000, 'capped')
  t.equal(backoffDelay(1000, 100, 10_000, low), 5000, 'huge attempt numbers stay finite')
  const spread = new Set(Array.from({ length: 50 }, () => backoffDelay(4, 100, 10_000)))
  t.ok(spread.size > 1, 'jittered')
  for (const d of spread) t.ok(d >= 800 && d <= 1600, `${d} within [800, 1600]`)
})

t.test('a steeper factor gives a longer schedule from the same formula', async (t) => {
  const high = () => 1
  t.equal(backoffDelay(0, 1000, 300_000, high, 4), 1000)
  t.equal(backoffDelay(2, 1000, 300_000, high, 4), 16_000)
  t.equal(
    backoffDelay(2, 1000, 300_000, () => 0, 4),
    8000,
    'never under half the ceiling',
  )
  t.equal(backoffDelay(9, 1000, 300_000, high, 4), 300_000, 'capped')
})

/**
 * Which settles first: `slept`, or a 5 s timer. An abort is seen within a tick, so the timer is
 * only the alternative an ignored abort would lose to (sleep's own timer is a minute long).
 */
async function firstOf(slept: Promise<void>): Promise<'sleep' | 'timer'> {
  let timer: NodeJS.Timeout | undefined
  const fallback = new Promise<'timer'>((resolve) => {
    timer = setTimeout(() => resolve('timer'), 5000)
  })
  try {
    return await Promise.race([slept.then(() => 'sleep' as const), fallback])
  } finally {
    clearTimeout(timer)
  }
}

t.test('sleep is cut short by an abort', async (t) => {
  const ac = new AbortController()
  const slept = sleep(60_000, ac.signal)
  ac.abort()
  t.equal(await firstOf(slept), 'sleep', 'an abort during the sleep ends it, not the minute')
  t.equal(
    await firstOf(sleep(60_000, AbortSignal.abort())),
    'sleep',
    'an already-aborted signal ends it at once',
  )
})

failOnLeaks(t)
