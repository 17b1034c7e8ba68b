import t from 'tap'
import { percentile, summarize } from '../bench/outbound/latency.js'

t.test('nearest-rank percentile', async (t) => {
  const hundred = Array.from({ length: 100 }, (_, i) => i + 1)
  t.equal(percentile(hundred, 0.5), 50, 'p50 of 1..100 is the 50th value')
  t.equal(percentile(hundred, 0.99), 99, 'p99 of 1..100 is the 99th value')
  t.equal(percentile(hundred, 1), 100, 'p100 is the largest')
  t.equal(percentile([7], 0.01), 7, 'one value is every percentile')
  t.equal(percentile([], 0.5), null, 'none of nothing')
})

t.test('summarize sorts numerically and rounds to 0.1 ms', async (t) => {
  // As strings, 10 and 100 would sort before 9: a string sort would give p50 = 100.
  t.same(summarize([100, 9, 10, 2.25]), { count: 4, p50Ms: 9, p99Ms: 100, maxMs: 100 })
  t.same(summarize([]), { count: 0, p50Ms: null, p99Ms: null, maxMs: null })
  t.equal(summarize([1.26]).p50Ms, 1.3, 'one decimal')
})
