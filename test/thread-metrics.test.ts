import t from 'tap'
import { setTimeout } from 'node:timers/promises'
import { Counter, Registry } from 'prom-client'
import { metricsText, reportThreadMetricsFrom, type ThreadMetrics } from '../src/metrics.js'
import { withTimeout } from '../src/util/timeout.js'

/**
 * /metrics sums the main thread's registry with what the other threads answer. A thread that is
 * too busy to answer within its bound must not make its counters read zero for that scrape.
 */
t.test('a thread that answers late is served from its previous answer', async (t) => {
  const theirs = new Registry()
  const forwarded = new Counter({
    name: 'sluice_test_forwarded_total',
    help: 'counted in the other thread',
    registers: [theirs],
  })
  forwarded.inc(7)
  let stalled = false
  reportThreadMetricsFrom(() => {
    const answer = theirs.getMetricsAsJSON() as Promise<ThreadMetrics>
    // A stalled thread answers after the caller's bound, which is what ends the wait.
    const reply = stalled ? answer.then((m) => setTimeout(200).then(() => m)) : answer
    // Answers cross a thread boundary as copies.
    return withTimeout(reply, 50).then((m) => [structuredClone(m)])
  })
  t.teardown(() => reportThreadMetricsFrom(null))

  t.match(await metricsText(), /^sluice_test_forwarded_total 7$/m, 'an answer in time is served')
  const lateBefore = lateCount(await metricsText())

  stalled = true
  forwarded.inc(3)
  const late = await metricsText()
  t.match(late, /^sluice_test_forwarded_total 7$/m, 'a late thread shows its last answer, not 0')
  t.equal(lateCount(late), lateBefore + 1, 'the late answer is counted')

  stalled = false
  t.match(await metricsText(), /^sluice_test_forwarded_total 10$/m, 'its next answer replaces it')

  reportThreadMetricsFrom(() => Promise.resolve([]))
  t.notMatch(
    await metricsText(),
    /^sluice_test_forwarded_total/m,
    'a new source starts without the previous one’s answer',
  )
})

function lateCount(text: string): number {
  return Number(/^sluice_thread_metrics_late_total (\d+)$/m.exec(text)?.[1] ?? NaN)
}
