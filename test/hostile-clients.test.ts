import t from 'tap'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import net from 'node:net'
import { randomBytes } from 'node:crypto'
import { spawnSluice, waitForLog } from './helpers/spawn.js'
import { failOnLeaks } from './helpers/leaks.js'

function connect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => resolve(s))
    s.on('error', reject)
  })
}

t.test('slow and garbage-sending clients neither block nor crash the engine', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-hostile-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const child = spawnSluice(['start'], { PORT: '0', HOST: '127.0.0.1', SLUICE_DATA_DIR: dir })
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)))
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  })
  const port = Number((await waitForLog(child, (l) => l.msg === 'listening')).port)
  const url = `http://127.0.0.1:${port}`
  const sockets: net.Socket[] = []
  t.teardown(() => sockets.forEach((s) => s.destroy()))

  // 200 slow clients: half stuck inside the headers, half inside a promised 1000-byte body.
  for (let i = 0; i < 200; i++) {
    const s = await connect(port)
    s.on('error', () => {})
    sockets.push(s)
    s.write(
      i % 2 === 0
        ? 'POST /webhook HTTP/1.1\r\nHost: x\r\nX-Slow: '
        : 'POST /webhook HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\nabc',
    )
  }
  const served = await Promise.all(
    Array.from({ length: 50 }, (_, i) =>
      fetch(`${url}/webhook`, { method: 'POST', body: `{"i":${i}}` }).then((r) => r.status),
    ),
  )
  t.same(
    new Set(served),
    new Set([200]),
    '50 normal requests served while 200 slow clients hold sockets',
  )

  // Garbage: random bytes, a broken request line, an oversized header block, a bad chunk size.
  const garbage: Buffer[] = [
    randomBytes(4096),
    Buffer.from('GARBAGE\r\n\r\n'),
    Buffer.from(`POST /webhook HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(200_000)}\r\n\r\n`),
    Buffer.from(
      'POST /webhook HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n',
    ),
    Buffer.from('POST /webhook HTTP/1.1\r\nContent-Length: -5\r\n\r\n'),
    Buffer.from('\x00\x01\x02\xff\xfe HTTP/9.9\r\n\r\n'),
  ]
  await Promise.all(
    garbage.map(async (g) => {
      for (let k = 0; k < 5; k++) {
        const s = await connect(port)
        s.on('error', () => {})
        sockets.push(s)
        s.write(g)
      }
    }),
  )
  const after = await fetch(`${url}/webhook`, { method: 'POST', body: '{"after":true}' })
  t.equal(after.status, 200, 'still serving after garbage')
  t.equal((await fetch(`${url}/healthz`)).status, 200)
  t.equal(child.exitCode, null, 'engine still running')

  // A graceful stop completes even with the slow clients still connected.
  child.kill('SIGTERM')
  t.equal(await exited, 0, 'clean exit on SIGTERM with hostile sockets open')
})

failOnLeaks(t)
