import t from 'tap'
import type { DeliveryResult } from '../src/db/delivery-results.js'
import { FailureLog } from '../src/dispatcher/failure-log.js'
import { dispatchDb, receiver, type DispatchDb, testDispatcher } from './helpers/dispatch.js'
import { failOnLeaks } from './helpers/leaks.js'
import { captureLogger, type LogLine } from './helpers/log-capture.js'
import { until } from './helpers/wait.js'

/**
 * Every failed delivery attempt is a warning in the log (subscription, host, delivery, attempt,
 * status or error class, message, next attempt or final), through a real dispatcher and real
 * receivers; under a flood the lines are sampled per subscription and the rest counted.
 */
let db: DispatchDb
t.before(async () => {
  db = await dispatchDb('sluice_failure_log')
})

const failures = (lines: LogLine[]) => lines.filter((l) => /^delivery attempt \d+ /.test(l.msg))
const summaries = (lines: LogLine[]) => lines.filter((l) => typeof l.suppressed === 'number')
const event = (id: string, type: string) => ({ id, body: Buffer.from(JSON.stringify({ type })) })
const attemptsOf = async (subscription: string) =>
  (
    await db.pool.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM delivery_attempts WHERE subscription_id = $1',
      [subscription],
    )
  ).rows[0]!.n

t.test('each failed attempt is a warning; the last one says it failed finally', async (t) => {
  const rx = await receiver((_r, res) => void res.writeHead(500).end('maintenance'))
  t.teardown(() => rx.close())
  // The path holds a token, as Slack's and many others' webhook URLs do: it stays out of the log.
  const sub = await db.subscribe({ url: rx.url('/hook/T0K3N-in-path'), eventTypes: ['fail.500'] })
  const { logger, lines } = captureLogger()
  await testDispatcher(t, db, { schedule: [0.2], logger }).start()
  await db.store([event('f1', 'fail.500')])
  await until('two attempts logged', () => failures(lines).length === 2, 30_000)
  const { rows } = await db.pool.query<{ id: string }>(
    "SELECT id FROM deliveries WHERE event_id = 'f1'",
  )
  const delivery = rows[0]!.id
  const [first, last] = failures(lines)
  const host = new URL(rx.url()).host
  t.match(first, {
    level: 40,
    subscription: sub.id,
    host,
    delivery,
    attempt: 1,
    statusCode: 500,
    error: 'status_5xx',
    final: false,
  })
  t.match(first?.nextAttemptAt, /^\d{4}-\d\d-\d\dT/, 'when the next attempt is due')
  t.match(first?.msg, new RegExp(`attempt 1 of ${delivery} to ${host} failed: HTTP 500`))
  t.match(first?.msg, /next attempt at \d{4}-/)
  t.match(last, { attempt: 2, statusCode: 500, final: true, nextAttemptAt: null })
  t.match(last?.msg, /; failed finally$/)
  t.notMatch(JSON.stringify(lines), /T0K3N/, 'only the host is logged, not the path')
})

t.test('an error class without a status, and a 410, are logged too', async (t) => {
  const gone = await receiver((_r, res) => void res.writeHead(410).end())
  const closed = await receiver()
  const closedUrl = closed.url('/nobody')
  await closed.close() // nothing listens there now: connection refused
  t.teardown(() => gone.close())
  const g = await db.subscribe({ url: gone.url(), eventTypes: ['fail.410'] })
  const r = await db.subscribe({ url: closedUrl, eventTypes: ['fail.refused'] })
  const { logger, lines } = captureLogger()
  await testDispatcher(t, db, { schedule: [60], logger }).start()
  await db.store([event('g1', 'fail.410'), event('c1', 'fail.refused')])
  const of = (id: string) => failures(lines).find((l) => l.subscription === id)
  await until('both logged', () => of(g.id) !== undefined && of(r.id) !== undefined, 30_000)
  t.match(of(g.id), { statusCode: 410, final: true })
  t.match(of(g.id)?.msg, /HTTP 410.*failed finally; the subscription is disabled$/)
  t.match(of(r.id), { statusCode: null, error: 'connection_refused', final: false })
  t.match(of(r.id)?.msg, /failed: connection_refused \(/, 'the error class and its message')
})

t.test('a flood of failures: every attempt is a line or counted in a summary', async (t) => {
  const rx = await receiver((_r, res) => void res.writeHead(503).end())
  t.teardown(() => rx.close())
  // 30 in flight at once: they all fail before the breaker can hold the rest.
  const sub = await db.subscribe({ url: rx.url(), eventTypes: ['fail.flood'], maxInFlight: 30 })
  const { logger, lines } = captureLogger()
  await testDispatcher(t, db, { schedule: [600], logger }).start()
  await db.store(Array.from({ length: 30 }, (_, i) => event(`fl-${i}`, 'fail.flood')))
  const mine = (l: LogLine) => l.subscription === sub.id
  const accounted = () =>
    failures(lines).filter(mine).length +
    summaries(lines)
      .filter(mine)
      .reduce((n, l) => n + Number(l.suppressed), 0)
  await until('30 attempts made', async () => (await attemptsOf(sub.id)) >= 30, 30_000)
  await until(
    'each attempt logged or counted',
    async () => accounted() === (await attemptsOf(sub.id)),
  )
  for (const s of summaries(lines).filter(mine)) {
    t.equal(Number(s.failedAttempts) - Number(s.suppressed), 10, 'ten in full in that interval')
  }
})

t.test('sampling per subscription: ten lines each, then one summary', async (t) => {
  const { logger, lines } = captureLogger()
  // One long interval, so how many fall into it does not depend on the machine's speed.
  const log = new FailureLog(() => logger, { perInterval: 10, intervalMs: 600_000 })
  const result = (subscriptionId: string, id: number): DeliveryResult => ({
    id: String(id),
    subscriptionId,
    status: 'pending',
    nextAttemptAt: new Date(Date.now() + 5000),
    effect: 'failure',
    attemptedAt: new Date(),
    durationMs: 1,
    statusCode: 503,
    error: 'status_5xx',
    message: 'the receiver answered 503',
    excerpt: '',
    truncated: false,
  })
  for (let i = 0; i < 5000; i++) log.attempted(result('sub-a', i), 'https://a.example/h', 1)
  for (let i = 0; i < 3; i++) log.attempted(result('sub-b', i), 'https://b.example:8443/h', 1)
  log.attempted({ ...result('sub-b', 9), status: 'succeeded' }, 'https://b.example:8443/h', 1)
  t.equal(failures(lines).length, 13, 'ten of one, three of the other, no success')
  t.same(summaries(lines), [], 'the summary waits for the end of the interval')
  log.flush()
  t.match(summaries(lines), [
    { subscription: 'sub-a', host: 'a.example', suppressed: 4990, failedAttempts: 5000 },
  ])
  t.equal(summaries(lines).length, 1, 'none for a subscription with nothing left out')
  t.match(summaries(lines)[0]?.msg, /4990 more failed delivery attempts to a\.example/)
  t.equal(failures(lines).filter((l) => l.host === 'b.example:8443').length, 3, 'host and port')
  log.attempted(result('sub-a', 1), 'https://a.example/h', 2)
  t.equal(failures(lines).length, 14, 'a new interval logs in full again')
  log.flush()
})

failOnLeaks(t, { closeFirst: () => db.drop() })
