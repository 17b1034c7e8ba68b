import t from 'tap'
import {
  embeddedIpv4,
  formatIp,
  parseCidr,
  parseHostAddress,
  parseIp,
  specialRange,
} from '../src/outbound/addresses.js'
import {
  checkUrl,
  parseAllowList,
  policyFromEnv,
  PUBLIC_ONLY,
  refusedRange,
} from '../src/outbound/ssrf.js'
import { failOnLeaks } from './helpers/leaks.js'

const ip = (text: string) => {
  const parsed = parseHostAddress(text)
  if (!parsed) throw new Error(`${text} does not parse`)
  return parsed
}

t.test('special ranges, IPv4 and IPv6, embedded IPv4 judged', async (t) => {
  const cases: [string, string | null][] = [
    ['0.0.0.0', 'unspecified'],
    ['0.1.2.3', 'this-network'],
    ['10.1.2.3', 'private'],
    ['100.64.0.1', 'shared'],
    ['100.127.255.255', 'shared'],
    ['127.0.0.1', 'loopback'],
    ['127.255.255.254', 'loopback'],
    ['169.254.169.254', 'link-local'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.0.0.8', 'reserved'],
    ['192.0.2.1', 'documentation'],
    ['192.168.1.1', 'private'],
    ['198.18.0.1', 'benchmarking'],
    ['198.51.100.7', 'documentation'],
    ['203.0.113.9', 'documentation'],
    ['224.0.0.1', 'multicast'],
    ['239.255.255.250', 'multicast'],
    ['240.0.0.1', 'reserved'],
    ['255.255.255.255', 'broadcast'],
    // Just outside the ranges: public.
    ['172.32.0.1', null],
    ['100.128.0.1', null],
    ['11.0.0.1', null],
    ['8.8.8.8', null],
    ['1.1.1.1', null],
    // IPv6.
    ['::', 'unspecified'],
    ['::1', 'loopback'],
    ['fc00::1', 'private'],
    ['fd12:3456::1', 'private'],
    ['fe80::1', 'link-local'],
    ['fe80::1%eth0', 'link-local'],
    ['fec0::1', 'private'],
    ['ff02::1', 'multicast'],
    ['2001:db8::1', 'documentation'],
    ['2001::1', 'reserved'], // Teredo
    ['100::1', 'reserved'],
    ['64:ff9b:1::1', 'private'],
    ['4000::1', 'reserved'], // outside 2000::/3
    ['2606:4700::1111', null],
    // Embedded IPv4: mapped, compatible, NAT64, 6to4, with the range of the IPv4 inside.
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['::ffff:169.254.169.254', 'link-local'],
    ['::ffff:8.8.8.8', null],
    ['::127.0.0.1', 'loopback'],
    ['::10.0.0.1', 'private'],
    ['64:ff9b::7f00:1', 'loopback'],
    ['64:ff9b::10.0.0.1', 'private'],
    ['64:ff9b::8.8.8.8', null],
    ['2002:7f00:1::', 'loopback'],
    ['2002:a9fe:a9fe::1', 'link-local'],
    ['2002:0808:0808::1', null],
    ['[::1]', 'loopback'],
  ]
  for (const [text, range] of cases) t.equal(specialRange(ip(text)), range, text)
})

t.test('IPv4 literals as WHATWG URL and inet_aton read them', async (t) => {
  for (const text of ['2130706433', '0x7f000001', '0X7F000001', '0177.0.0.1', '127.1', '127.0.1']) {
    t.equal(formatIp(ip(text)), '127.0.0.1', text)
  }
  t.equal(formatIp(ip('0x7f.1')), '127.0.0.1')
  t.equal(formatIp(ip('127.0.0.1.')), '127.0.0.1', 'a trailing dot')
  t.equal(formatIp(ip('0xa9.0xfe.0xa9.0xfe')), '169.254.169.254')
  t.equal(formatIp(ip('0')), '0.0.0.0')
  // Our parser agrees with Node's WHATWG URL on every form.
  const odd = ['0x', '0x.0x', '00', '0.0x10.0', '1.2.3.4.', '0x7f.0.0.1']
  for (const text of ['3232235777', '0xc0a80101', '0300.0250.1.1', '192.168.257', '10.1', ...odd]) {
    t.equal(formatIp(ip(text)), new URL(`http://${text}/`).hostname, text)
  }
  // Names, and numbers out of range, are not addresses.
  for (const text of [
    'localhost',
    'example.com',
    '1.2.3.4.5',
    '256.1.1.1',
    '4294967296',
    '08',
    '09.1',
  ]) {
    t.equal(parseHostAddress(text), null, text)
  }
})

t.test('parseIp is strict; formatIp writes RFC 5952', async (t) => {
  t.equal(parseIp('127.1'), null, 'DNS answers are dotted quads; short forms are not')
  t.equal(parseIp('example.com'), null)
  t.equal(formatIp(ip('::ffff:127.0.0.1')), '::ffff:7f00:1')
  t.equal(formatIp(ip('2001:0db8:0000:0000:0001:0000:0000:0001')), '2001:db8::1:0:0:1')
  t.equal(formatIp(ip('1:2:3:4:5:6:7:8')), '1:2:3:4:5:6:7:8')
  t.equal(formatIp(ip('1:0:3:4:5:6:7:8')), '1:0:3:4:5:6:7:8', 'a single zero group stays')
  t.equal(formatIp(ip('::')), '::')
  t.equal(formatIp(embeddedIpv4(ip('64:ff9b::c0a8:101'))!), '192.168.1.1')
  t.equal(embeddedIpv4(ip('2606:4700::1')), null)
})

t.test('SLUICE_OUTBOUND_ALLOW: parsing and what it opens', async (t) => {
  const allow = parseAllowList(' 127.0.0.0/8, ::1 ,,10.1.2.3, fd00::/8 ')
  t.equal(allow.length, 4)
  t.same(parseAllowList(undefined), [])
  t.same(parseAllowList(''), [])
  for (const bad of [
    '10.0.0.0/33',
    'fd00::/129',
    'nonsense',
    '10.0.0.0/',
    '10.0.0.0/08',
    '127.1',
  ]) {
    t.throws(
      () => parseAllowList(`127.0.0.0/8,${bad}`),
      { message: new RegExp(`^SLUICE_OUTBOUND_ALLOW: '${bad.replace(/[./]/g, '\\$&')}'`) },
      bad,
    )
  }
  t.throws(() => policyFromEnv({ SLUICE_OUTBOUND_ALLOW: '10.0.0.0/99' }), /SLUICE_OUTBOUND_ALLOW/)

  const policy = { allow }
  t.equal(refusedRange(policy, ip('127.0.0.2')), null)
  t.equal(refusedRange(policy, ip('::ffff:127.0.0.1')), null, 'the embedded IPv4 is allowed')
  t.equal(refusedRange(policy, ip('::1')), null)
  t.equal(refusedRange(policy, ip('10.1.2.3')), null, 'a single address')
  t.equal(refusedRange(policy, ip('10.1.2.4')), 'private', 'its neighbour is not')
  t.equal(refusedRange(policy, ip('fd00::5')), null)
  t.equal(refusedRange(policy, ip('169.254.169.254')), 'link-local')
  t.equal(refusedRange(PUBLIC_ONLY, ip('127.0.0.1')), 'loopback')
  t.equal(refusedRange(PUBLIC_ONLY, ip('8.8.8.8')), null)
  // Host bits of an entry are ignored: 10.9.9.9/8 is 10.0.0.0/8.
  t.equal(refusedRange({ allow: parseAllowList('10.9.9.9/8') }, ip('10.200.0.1')), null)
  t.equal(parseCidr('0.0.0.0/0')?.prefix, 0)
})

t.test('checkUrl at creation: scheme, credentials, literal addresses', async (t) => {
  const problem = (url: string, policy = PUBLIC_ONLY) => {
    const r = checkUrl(url, policy)
    return r.ok ? null : r.problem
  }
  t.equal(problem('https://hooks.example.com/in'), null)
  t.equal(problem('http://hooks.example.com:8080/in?x=1'), null)
  t.equal(problem('https://8.8.8.8/'), null)
  t.equal(problem('not a url'), 'invalid_url')
  for (const url of ['ftp://example.com/', 'file:///etc/passwd', 'gopher://x/', 'ws://x/']) {
    t.equal(problem(url), 'scheme', url)
  }
  t.equal(problem('https://user:pw@example.com/'), 'credentials')
  t.equal(problem('https://user@example.com/'), 'credentials')
  const literals = [
    'http://127.0.0.1/',
    'http://2130706433/',
    'http://0x7f000001/',
    'http://0177.0.0.1/',
    'http://127.1/',
    'http://10.0.0.1/',
    'http://169.254.169.254/latest/meta-data/',
    'http://[::1]/',
    'http://[::ffff:127.0.0.1]/',
    'http://[::ffff:a9fe:a9fe]/',
    'http://[64:ff9b::a9fe:a9fe]/',
    'http://[2002:c0a8:101::]/',
    'http://[fd00::1]/',
    'http://[fe80::1]/',
    'http://localhost:3000/',
    'http://api.localhost/',
    'http://0.0.0.0/',
  ]
  for (const url of literals) t.equal(problem(url), 'address', url)
  const r = checkUrl('http://2130706433/', PUBLIC_ONLY)
  t.match(r, { ok: false, message: /127\.0\.0\.1 .*loopback.*SLUICE_OUTBOUND_ALLOW/ })
  // Names pass: what they resolve to is judged at connection time.
  t.equal(problem('http://internal.corp/'), null)
  const allow = { allow: parseAllowList('127.0.0.0/8,::1,10.0.0.0/8') }
  t.equal(problem('http://127.0.0.1:8080/', allow), null)
  t.equal(problem('http://localhost:3000/', allow), null)
  t.equal(problem('http://10.0.0.1/', allow), null)
  t.equal(problem('http://169.254.169.254/', allow), 'address')
})

failOnLeaks(t)
