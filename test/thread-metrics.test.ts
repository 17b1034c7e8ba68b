import t from 'tap'
import { setTimeout } from 'node:timers/promises'
import { Counter, Registry } from 'prom-client'
import { metricsText, reportThreadMetricsFrom, type ThreadMetrics } from '../src/metrics.js'
import { LastAnswer } from '../src/util/last-answer.js'
import { withTimeout } from '../src/util/timeout.js'

/**
 * /metrics sums the main thread's registry with what the other threads answer. A thread that is
 * too busy to answer within its bound must not make its counters read zero for that scrape, and
 * a restarted thread (a new incarnation) must not be served the dead one's counters.
 */
t.test('a thread that answers late is served from its previous answer', async (t) => {
  const theirs = new Registry()
  const forwarded = new Counter({
    name: 'sluice_test_forwarded_total',
    help: 'counted in the other thread',
    registers: [theirs],
  })
  forwarded.inc(7)
  let late = 0
  const answers = new LastAnswer<ThreadMetrics[]>(() => late++)
  let stalled = false
  let incarnation = {}
  reportThreadMetricsFrom(() => {
    const answer = theirs.getMetricsAsJSON() as Promise<ThreadMetrics>
    // A stalled thread answers after the caller's bound, which is what ends the wait.
    const reply = stalled ? answer.then((m) => setTimeout(200).then(() => m)) : answer
    // Answers cross a thread boundary as copies.
    const ask = () => withTimeout(reply, 50).then((m) => [structuredClone(m)])
    return answers.of(incarnation, ask)
  })
  t.teardown(() => reportThreadMetricsFrom(null))

  t.match(await metricsText(), /^sluice_test_forwarded_total 7$/m, 'an answer in time is served')

  stalled = true
  forwarded.inc(3)
  t.match(
    await metricsText(),
    /^sluice_test_forwarded_total 7$/m,
    'a late thread shows its last answer, not 0',
  )
  t.equal(late, 1, 'the late answer is counted')

  stalled = false
  t.match(await metricsText(), /^sluice_test_forwarded_total 10$/m, 'its next answer replaces it')

  incarnation = {}
  stalled = true
  t.notMatch(
    await metricsText(),
    /^sluice_test_forwarded_total/m,
    "a new incarnation that is late is not served the previous one's counters",
  )
  t.equal(late, 1, 'and nothing stood in for it')
})

t.test('the error of a call with no previous answer comes through', async (t) => {
  const answers = new LastAnswer<number>()
  await t.rejects(
    answers.of('a', () => Promise.reject(new Error('no answer within 1000 ms'))),
    /no answer/,
  )
  t.equal(await answers.of('a', () => Promise.resolve(1)), 1)
  t.equal(await answers.of('a', () => Promise.reject(new Error('late'))), 1, 'then the last one')
})

t.test(
  'a previous answer older than maxAgeMs does not stand in: a hung thread reads down',
  async (t) => {
    let now = 1_000
    const answers = new LastAnswer<string>(
      () => {},
      30_000,
      () => now,
    )
    t.equal(await answers.of('a', async () => 'up'), 'up')
    const hung = () => Promise.reject(new Error('no answer in time'))
    now += 29_000
    t.equal(await answers.of('a', hung), 'up', 'a late answer within the bound stands in')
    now += 2_000
    await t.rejects(answers.of('a', hung), /no answer in time/, 'past it, the call fails')
  },
)
