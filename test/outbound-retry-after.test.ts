import t from 'tap'
import {
  parseHttpDate,
  parseRetryAfter,
  RETRY_AFTER_MAX_MS,
  RETRY_AFTER_MIN_MS,
} from '../src/outbound/retry-after.js'
import { failOnLeaks } from './helpers/leaks.js'

const NOW = Date.UTC(2026, 0, 15, 12, 0, 0)
const at = (ms: number) => new Date(ms).toUTCString()

t.test('the three HTTP-date forms (RFC 9110 examples)', async (t) => {
  const expected = Date.UTC(1994, 10, 6, 8, 49, 37)
  t.equal(parseHttpDate('Sun, 06 Nov 1994 08:49:37 GMT'), expected, 'IMF-fixdate')
  t.equal(parseHttpDate('Sunday, 06-Nov-94 08:49:37 GMT'), expected, 'RFC 850')
  t.equal(parseHttpDate('Sun Nov  6 08:49:37 1994'), expected, 'asctime')
  for (const bad of [
    'Sun, 31 Feb 2026 08:49:37 GMT',
    'Sun, 06 Nov 1994 25:00:00 GMT',
    '2026',
    '1 2',
  ]) {
    t.equal(parseHttpDate(bad), null, bad)
  }
})

t.test('delay-seconds and dates, clamped to 1 s .. 1 h', async (t) => {
  t.equal(parseRetryAfter('120', NOW), 120_000)
  t.equal(parseRetryAfter(' 7 ', NOW), 7_000)
  t.equal(parseRetryAfter('0', NOW), RETRY_AFTER_MIN_MS, 'zero waits the minimum')
  t.equal(parseRetryAfter('86400', NOW), RETRY_AFTER_MAX_MS, 'a day waits an hour')
  t.equal(parseRetryAfter(at(NOW + 30_000), NOW), 30_000, 'a date 30 s ahead')
  t.equal(parseRetryAfter(at(NOW), NOW), RETRY_AFTER_MIN_MS, 'a date of now, like 0')
  t.equal(parseRetryAfter(at(NOW + 2 * 86_400_000), NOW), RETRY_AFTER_MAX_MS)
  t.equal(parseRetryAfter(['60'], NOW), 60_000, 'one header given as a list')
})

t.test('negative, garbage, past and absurd values are ignored', async (t) => {
  const ignored = [
    '-5',
    '-0',
    '1.5',
    '+10',
    '10s',
    'soon',
    '',
    '1e3',
    'Infinity',
    '0x10',
    at(NOW - 1000), // in the past
    at(NOW + 30 * 86_400_000), // 30 days away: a broken header, not a plan
    String(NOW), // epoch milliseconds where seconds belong
    '9'.repeat(400),
  ]
  for (const value of ignored) t.equal(parseRetryAfter(value, NOW), undefined, value)
  t.equal(parseRetryAfter(undefined, NOW), undefined)
  t.equal(parseRetryAfter(['60', '120'], NOW), undefined, 'two disagreeing headers')
})

failOnLeaks(t)
