import t from 'tap'
import { eventBytes, jsonStringBytes } from '../src/event.js'

// eventBytes bounds what a broker message may carry, so its fast path for plain ASCII must give
// exactly what JSON.stringify and UTF-8 give, for every string a sender can put in a header.
const byDefinition = (s: string) => Buffer.byteLength(JSON.stringify(s))

t.test('a string’s JSON size is exact, escapes and non-ASCII included', async (t) => {
  const tricky = [
    '',
    'plain-header-value',
    ' ',
    '~',
    '"',
    '\\',
    'a"b\\c',
    '\u007f',
    '\u0000',
    '\t\r\n\b\f',
    '\u001f',
    'ünïcödé',
    '€',
    '😀',
    '\ud800',
    'x\udfffy',
    '</script>',
    'sha256=d57c68ca6f92289e6987922ff26938930f6e66a2d161ef06abdf1859230aa23c',
  ]
  for (const s of tricky) t.equal(jsonStringBytes(s), byDefinition(s), JSON.stringify(s))
  // Random strings over an alphabet with every kind of character, plain ones most likely.
  const alphabet = [
    'a',
    'Z',
    '0',
    ' ',
    '~',
    '"',
    '\\',
    '\u0001',
    '\u007f',
    'é',
    '€',
    '\ud83d',
    '\ude00',
  ]
  let seed = 7
  const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31
  let wrong = 0
  for (let i = 0; i < 5000; i++) {
    let s = ''
    const length = Math.floor(next() * 12)
    for (let j = 0; j < length; j++) {
      s += next() < 0.7 ? 'k' : alphabet[Math.floor(next() * alphabet.length)]!
    }
    if (jsonStringBytes(s) !== byDefinition(s)) wrong++
  }
  t.equal(wrong, 0, '5,000 random strings')
})

t.test('an event’s size counts every header by its JSON encoding', async (t) => {
  const event = {
    id: 'evt_1',
    source: 'github',
    contentType: 'application/json',
    verifiedBy: null,
    headers: { 'x-github-event': 'push', 'x-note': 'ünï "q"' },
    body: Buffer.alloc(100),
  }
  const strings = [
    'evt_1',
    'github',
    'application/json',
    'x-github-event',
    'push',
    'x-note',
    'ünï "q"',
  ]
  const expected = 100 + strings.reduce((n, s) => n + byDefinition(s), 0) + 4 + 2 * 2
  t.equal(eventBytes(event), expected)
  t.equal(eventBytes({ ...event, traceparent: '00-ab' }), expected + byDefinition('00-ab') + 16)
})
