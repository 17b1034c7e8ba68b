import t, { type Test } from 'tap'
import { pino } from 'pino'
import { HealthTracker, retryUntilUp } from '../src/pipeline/bring-up.js'
import { PermanentError } from '../src/permanent-error.js'
import { failOnLeaks } from './helpers/leaks.js'

const logger = pino({ level: 'silent' })
// retryUntilUp sleeps on unref'd timers (a component never keeps the process alive by itself);
// these tests have nothing else that would, so each holds the loop open while it runs.
const holdOpen = (t: Test) => {
  const keepAlive = setInterval(() => {}, 1000)
  t.teardown(() => clearInterval(keepAlive))
}
const options = (health: HealthTracker, signal = new AbortController().signal) => ({
  signal,
  logger,
  health,
  classify: () => null,
  permanentRetryMs: 1,
})

t.test('a permanent error is reported, retried slowly, and cleared on success', async (t) => {
  holdOpen(t)
  const health = new HealthTracker('broker', logger)
  let calls = 0
  const value = await retryUntilUp(
    'broker',
    async () => {
      if (++calls < 3) {
        t.equal(health.health().ok, calls === 1, 'ok until the first permanent failure')
        throw new PermanentError('broker_queue_missing', 'no queue', 'create it')
      }
      t.match(health.health().problem, { code: 'broker_queue_missing', hint: 'create it' })
      return 'up'
    },
    options(health),
  )
  t.equal(value, 'up')
  t.equal(calls, 3)
  t.same(health.health(), { ok: true, problem: null }, 'recovered')
})

t.test('a permanent error that is not retryable rejects after one attempt', async (t) => {
  holdOpen(t)
  const health = new HealthTracker('database', logger)
  let calls = 0
  const tooNew = new PermanentError('schema_too_new', 'version 99', 'upgrade', { retryable: false })
  await t.rejects(
    retryUntilUp(
      'migrations',
      async () => {
        calls++
        throw tooNew
      },
      options(health),
    ),
    tooNew,
  )
  t.equal(calls, 1, 'never retried')
  t.equal(health.health().problem?.code, 'schema_too_new', 'and shown')
})

t.test('classify turns a plain error into a permanent one; closing stops the loop', async (t) => {
  holdOpen(t)
  const health = new HealthTracker('database', logger)
  const stop = new AbortController()
  let calls = 0
  const run = retryUntilUp(
    'database',
    async () => {
      if (++calls === 2) stop.abort()
      throw Object.assign(new Error('password authentication failed'), { code: '28P01' })
    },
    {
      ...options(health, stop.signal),
      classify: (err) =>
        (err as { code?: string }).code === '28P01'
          ? new PermanentError('database_access_denied', 'denied', 'fix DATABASE_URL')
          : null,
    },
  )
  await t.rejects(run, /pipeline closing/)
  t.equal(health.health().problem?.code, 'database_access_denied')
})

failOnLeaks(t)
