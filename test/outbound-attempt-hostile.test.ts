import t, { type Test } from 'tap'
import { Agent } from 'undici'
import type { ServerResponse } from 'node:http'
import { createOutboundAgent } from '../src/outbound/agent.js'
import { attemptDelivery, EXCERPT_BYTES, type AttemptRequest } from '../src/outbound/attempt.js'
import { generateSecret } from '../src/outbound/sign.js'
import { policyFromEnv } from '../src/outbound/ssrf.js'
import { failOnLeaks } from './helpers/leaks.js'
import { httpReceiver, tcpReceiver } from './helpers/receivers.js'

// Hostile receivers on 127.0.0.1 (opened by the allow list). Deadlines here are short so the
// tests end soon; assertions compare durations with the deadline, never with wall-clock speed.
const policy = policyFromEnv({ SLUICE_OUTBOUND_ALLOW: '127.0.0.1/32' })
const delivery = (url: string): AttemptRequest => ({
  url,
  body: Buffer.from('{"n":1}'),
  contentType: 'application/json',
  webhookId: 'evt_1',
  secrets: [generateSecret()],
})

function agentFor(t: Test) {
  const agent = createOutboundAgent({ policy })
  t.teardown(() => agent.close())
  return agent
}

/** Writes `total` bytes of `fill` (Infinity: until the peer goes), respecting backpressure. */
function pour(res: ServerResponse, total: number, fill = 'a'): void {
  const chunk = Buffer.alloc(16 * 1024, fill)
  let sent = 0
  let gone = false
  res.on('close', () => (gone = true))
  const pump = () => {
    while (!gone && sent < total) {
      const n = Math.min(chunk.length, total - sent)
      sent += n
      if (!res.write(n === chunk.length ? chunk : chunk.subarray(0, n))) {
        res.once('drain', pump)
        return
      }
    }
    if (!gone) res.end()
  }
  pump()
}

t.test('accepts the connection and never answers: the deadline ends it', async (t) => {
  const receiver = await tcpReceiver((socket) => socket.resume())
  t.teardown(() => receiver.close())
  const r = await attemptDelivery(delivery(receiver.origin), {
    dispatcher: agentFor(t),
    timeoutMs: 300,
  })
  t.match(r, { outcome: 'failure', error: 'timeout', excerpt: '' })
  t.notOk('status' in r, 'no status: nothing was answered')
  t.ok(r.durationMs >= 290, 'it waited for the deadline')
  await receiver.allClosed()
})

t.test('headers, then a body dripping forever: the deadline covers the body', async (t) => {
  const receiver = await httpReceiver((req, res) => {
    req.resume()
    res.writeHead(200, { 'content-type': 'text/plain' })
    const drip = setInterval(() => res.write('x'), 20)
    res.on('close', () => clearInterval(drip))
  })
  t.teardown(() => receiver.close())
  const r = await attemptDelivery(delivery(receiver.origin), {
    dispatcher: agentFor(t),
    timeoutMs: 2000,
  })
  t.match(r, { outcome: 'failure', error: 'timeout', status: 200, excerpt: /^x+$/ })
  await receiver.allClosed()
})

t.test('a 10 MB body: 64 KiB read, the connection closed, no wait for the rest', async (t) => {
  const receiver = await httpReceiver((req, res) => {
    req.resume()
    res.writeHead(200, { 'content-length': String(10 * 1024 * 1024) })
    pour(res, 10 * 1024 * 1024)
  })
  t.teardown(() => receiver.close())
  const r = await attemptDelivery(delivery(receiver.origin), {
    dispatcher: agentFor(t),
    timeoutMs: 10_000,
  })
  t.match(r, { outcome: 'success', status: 200, truncated: true })
  t.equal(r.excerpt.length, EXCERPT_BYTES)
  await receiver.allClosed()
})

t.test('an endless body: the attempt returns and the receiver sees the close', async (t) => {
  let written = 0
  const receiver = await httpReceiver((req, res) => {
    req.resume()
    res.writeHead(200) // chunked, no length: it would never end by itself
    pour(res, Infinity, 'z')
    res.on('close', () => (written = res.socket?.bytesWritten ?? written))
  })
  t.teardown(() => receiver.close())
  const r = await attemptDelivery(delivery(receiver.origin), {
    dispatcher: agentFor(t),
    timeoutMs: 10_000,
  })
  // Success, not timeout: reading stopped at the excerpt instead of running to the deadline.
  t.match(r, { outcome: 'success', truncated: true, excerpt: /^z+$/ })
  t.equal(r.excerpt.length, EXCERPT_BYTES)
  await receiver.allClosed()
  t.ok(written < 256 * 1024 * 1024, `the receiver got to write ${written} bytes, not forever`)
})

t.test('a body of exactly 64 KiB is complete; a character cut at the end is dropped', async (t) => {
  const receiver = await httpReceiver((req, res) => {
    req.resume()
    if (req.url === '/exact') return pour(res, EXCERPT_BYTES)
    // 65,535 ASCII bytes, then a 3-byte euro sign across the 64 KiB boundary.
    res.end(Buffer.concat([Buffer.alloc(EXCERPT_BYTES - 1, 'a'), Buffer.from('\u20ac tail')]))
  })
  t.teardown(() => receiver.close())
  const dispatcher = agentFor(t)
  const exact = await attemptDelivery(delivery(`${receiver.origin}/exact`), { dispatcher })
  t.match(exact, { outcome: 'success', truncated: false })
  t.equal(exact.excerpt.length, EXCERPT_BYTES)
  const cut = await attemptDelivery(delivery(`${receiver.origin}/cut`), { dispatcher })
  t.match(cut, { truncated: true })
  t.equal(cut.excerpt, 'a'.repeat(EXCERPT_BYTES - 1), 'no replacement character at the end')
})

t.test('a receiver that closes the connection early', async (t) => {
  const answers: Record<string, string> = {
    '/reset': '',
    '/short': 'HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nshort',
    '/half': 'HTTP/1.1 200 OK\r\ncontent-le',
    '/junk': 'hello there\r\n\r\n',
  }
  const receiver = await tcpReceiver((socket) => {
    let head = ''
    socket.on('data', (d: Buffer) => {
      head += d.toString('latin1')
      if (!head.includes('\r\n\r\n')) return
      const path = /^POST (\S+)/.exec(head)?.[1] ?? ''
      const answer = answers[path] ?? ''
      if (answer === '') socket.resetAndDestroy()
      else socket.end(answer)
    })
  })
  t.teardown(() => receiver.close())
  const dispatcher = agentFor(t)
  const run = (path: string) =>
    attemptDelivery(delivery(receiver.origin + path), { dispatcher, timeoutMs: 5_000 })
  t.match(await run('/reset'), { outcome: 'failure', error: 'connection_reset' })
  // The status came, the body did not: a failure (at-least-once), with what did arrive.
  t.match(await run('/short'), {
    outcome: 'failure',
    error: 'connection_reset',
    status: 200,
    excerpt: 'short',
  })
  t.match(await run('/half'), { outcome: 'failure', error: /^(connection_reset|protocol)$/ })
  t.match(await run('/junk'), { outcome: 'failure', error: 'protocol' })
})

t.test('hanging receivers do not delay a healthy one attempted at the same time', async (t) => {
  const hanging = await tcpReceiver((socket) => socket.resume())
  const healthy = await httpReceiver((req, res) => void req.resume().on('end', () => res.end()))
  t.teardown(() => Promise.all([hanging.close(), healthy.close()]))
  const dispatcher = agentFor(t)
  const timeoutMs = 8_000
  let hangingDone = 0
  const stuck = Array.from({ length: 5 }, () =>
    attemptDelivery(delivery(hanging.origin), { dispatcher, timeoutMs }).then((r) => {
      hangingDone++
      return r
    }),
  )
  const ok = await attemptDelivery(delivery(healthy.origin), { dispatcher, timeoutMs })
  t.match(ok, { outcome: 'success' })
  // Had it queued behind them, it would have ended after their deadline, not before.
  t.equal(hangingDone, 0, 'the healthy one finished while all the hanging ones still wait')
  for (const r of await Promise.all(stuck)) t.match(r, { outcome: 'failure', error: 'timeout' })
})

t.test(
  'a connection that never opens: the deadline ends the attempt while undici waits',
  async (t) => {
    // A connector that never calls back (a name that never resolves, a SYN into a black hole):
    // undici has not started the request, so the deadline must settle the attempt without it.
    let asked = 0
    const dispatcher = new Agent({ connect: () => void asked++ })
    t.teardown(() => dispatcher.destroy())
    const r = await attemptDelivery(delivery('http://127.0.0.1:9/'), { dispatcher, timeoutMs: 300 })
    t.equal(asked, 1, 'the connection was asked for')
    t.match(r, { outcome: 'failure', error: 'timeout', excerpt: '' })
    t.ok(r.durationMs >= 290, 'it waited for the deadline')
  },
)

failOnLeaks(t)
