import t, { type Test } from 'tap'
import type { LookupAddress } from 'node:dns'
import { request } from 'undici'
import { createOutboundAgent, systemResolver, type Resolver } from '../src/outbound/agent.js'
import { policyFromEnv, PUBLIC_ONLY, SsrfRefusedError } from '../src/outbound/ssrf.js'
import { failOnLeaks } from './helpers/leaks.js'
import { canListen, httpReceiver, type Listener } from './helpers/receivers.js'

// Receivers on loopback addresses: the policy must keep every connection away from them.
const ok = (_req: unknown, res: { end(s: string): void }) => res.end('reached')
const main = await httpReceiver(ok, '127.0.0.1')
const second = (await canListen('127.0.0.2')) ? await httpReceiver(ok, '127.0.0.2') : null
const v6 = (await canListen('::1')) ? await httpReceiver(ok, '::1') : null

/** Names a test resolver answers, like a hosts file; the rest go to the system resolver. */
const hosts: Record<string, string[]> = {
  'internal.test': ['127.0.0.1'],
  'second.test': ['127.0.0.2'],
  'metadata.test': ['169.254.169.254'],
  // A public address and a private one: refused as a whole, nothing connected.
  'mixed.test': ['93.184.216.34', '127.0.0.1'],
}
const resolve: Resolver = async (host) => {
  const answer = hosts[host]
  if (!answer) return systemResolver(host)
  return answer.map((address): LookupAddress => ({
    address,
    family: address.includes(':') ? 6 : 4,
  }))
}

/** The hosts whose targets are left out here (not bindable), reported as skips, never as passes. */
const unbound = [second ? null : '127.0.0.2', v6 ? null : '::1'].filter((h) => h !== null)
const reportUnbound = (t: Test) => {
  for (const host of unbound) {
    t.pass(`the ${host} targets`, { skip: `${host} cannot be bound on this machine` })
  }
}

const total = () => [main, second, v6].reduce((n, l) => n + (l?.accepted() ?? 0), 0)
const p = main.port

/** URLs that all end at a loopback listener (or would, if connected). */
function targets(): [string, Listener | null][] {
  const list: [string, Listener | null][] = [
    [`http://127.0.0.1:${p}/`, main],
    [`http://2130706433:${p}/`, main],
    [`http://0x7f000001:${p}/`, main],
    [`http://0177.0.0.1:${p}/`, main],
    [`http://127.1:${p}/`, main],
    [`http://[::ffff:127.0.0.1]:${p}/`, main],
    [`http://localhost:${p}/`, main],
    [`http://internal.test:${p}/`, main],
  ]
  if (second) list.push([`http://127.0.0.2:${second.port}/`, second])
  if (second) list.push([`http://second.test:${second.port}/`, second])
  if (v6) list.push([`http://[::1]:${v6.port}/`, v6])
  return list
}

t.test('without an allow list, every loopback form is refused and nothing connects', async (t) => {
  const agent = createOutboundAgent({ policy: PUBLIC_ONLY, resolve })
  t.teardown(() => agent.close())
  const before = total()
  for (const [url] of targets()) {
    const err = await request(url, { dispatcher: agent, method: 'POST', body: 'x' }).then(
      () => null,
      (e: unknown) => e,
    )
    t.ok(err instanceof SsrfRefusedError, `${url} refused`)
    t.match(err, { range: 'loopback' }, `${url}: loopback`)
  }
  t.equal(total(), before, 'no listener accepted a connection')
  reportUnbound(t)
})

t.test('other refused destinations fail at connect with the range and address', async (t) => {
  const agent = createOutboundAgent({ policy: PUBLIC_ONLY, resolve })
  t.teardown(() => agent.close())
  const cases: [string, string, string][] = [
    ['http://169.254.169.254/latest/meta-data/', '169.254.169.254', 'link-local'],
    ['http://metadata.test/', '169.254.169.254', 'link-local'],
    ['http://10.0.0.1/', '10.0.0.1', 'private'],
    ['http://192.168.1.1/', '192.168.1.1', 'private'],
    ['http://100.64.0.1/', '100.64.0.1', 'shared'],
    ['http://[fd00::1]/', 'fd00::1', 'private'],
    ['http://[fe80::1]/', 'fe80::1', 'link-local'],
    ['http://[64:ff9b::7f00:1]/', '64:ff9b::7f00:1', 'loopback'],
    ['http://[2002:a9fe:a9fe::]/', '2002:a9fe:a9fe::', 'link-local'],
    ['http://0.0.0.0/', '0.0.0.0', 'unspecified'],
    ['https://224.0.0.1/', '224.0.0.1', 'multicast'],
    [`http://mixed.test:${p}/`, '127.0.0.1', 'loopback'],
  ]
  const before = total()
  for (const [url, address, range] of cases) {
    const err = await request(url, { dispatcher: agent }).then(
      () => null,
      (e: unknown) => e,
    )
    t.match(err, { name: 'SsrfRefusedError', address, range }, url)
  }
  t.equal(total(), before, 'the mixed answer connected nowhere either')
})

t.test('SLUICE_OUTBOUND_ALLOW=127.0.0.0/8,::1 opens the same requests', async (t) => {
  const policy = policyFromEnv({ SLUICE_OUTBOUND_ALLOW: '127.0.0.0/8,::1' })
  const agent = createOutboundAgent({ policy, resolve })
  t.teardown(() => agent.close())
  for (const [url, listener] of targets()) {
    const before = listener!.accepted()
    // `reset`: a connection per request, so each request's own connection is counted.
    const res = await request(url, { dispatcher: agent, method: 'POST', body: 'x', reset: true })
    t.equal(await res.body.text(), 'reached', url)
    t.equal(listener!.accepted(), before + 1, `${url} reached its listener`)
  }
  // Still refused: what the allow list does not name.
  const err = await request('http://metadata.test/', { dispatcher: agent }).catch((e: unknown) => e)
  t.match(err, { name: 'SsrfRefusedError', range: 'link-local' })
  reportUnbound(t)
})

const skip = second ? false : '127.0.0.2 is not bindable here'
t.test(
  'one resolution per connection, the socket goes to the address checked',
  { skip },
  async (t) => {
    if (!second) return
    // A rebinding name: the first answer is allowed, every later one points elsewhere.
    let calls = 0
    const rebinding: Resolver = async () => {
      calls++
      return [{ address: calls === 1 ? '127.0.0.2' : '127.0.0.1', family: 4 }]
    }
    const policy = policyFromEnv({ SLUICE_OUTBOUND_ALLOW: '127.0.0.2/32' })
    const agent = createOutboundAgent({ policy, resolve: rebinding })
    t.teardown(() => agent.close())
    const [mainBefore, secondBefore] = [main.accepted(), second.accepted()]
    const url = `http://rebind.test:${second.port}/`
    const res = await request(url, { dispatcher: agent, reset: true })
    t.equal(await res.body.text(), 'reached')
    t.equal(calls, 1, 'resolved once, for the one connection')
    t.equal(second.accepted() - secondBefore, 1, 'connected to the checked address')
    // `reset` closed that connection; the next one resolves again and is refused.
    const err = await request(url, { dispatcher: agent }).catch((e: unknown) => e)
    t.match(err, { name: 'SsrfRefusedError', address: '127.0.0.1', host: 'rebind.test' })
    t.equal(calls, 2)
    t.equal(main.accepted(), mainBefore, 'nothing reached 127.0.0.1')
  },
)

t.test('resolver failures and empty answers are errors, not connections', async (t) => {
  const failing: Resolver = async (host) => {
    if (host === 'empty.test') return []
    throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' })
  }
  const agent = createOutboundAgent({ policy: PUBLIC_ONLY, resolve: failing })
  t.teardown(() => agent.close())
  for (const host of ['nowhere.test', 'empty.test']) {
    const err = await request(`http://${host}/`, { dispatcher: agent }).catch((e: unknown) => e)
    t.match(err, { code: 'ENOTFOUND' }, host)
  }
})

failOnLeaks(t, {
  closeFirst: async () => {
    for (const l of [main, second, v6]) if (l) await l.close()
  },
})
