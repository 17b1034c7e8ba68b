import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import net from 'node:net'
import type { Test } from 'tap'
import { SqliteJournal, type SqliteJournalOptions } from '../../journal/index.js'
import type { Journal } from '../../journal/types.js'
import { HttpServer, type HttpServerOptions } from '../../src/server/index.js'
import { createLogger } from '../../src/log.js'
import type { IngestSource } from '../../src/sources/types.js'

export const openSource = (name: string): IngestSource => ({
  name,
  admit: () => null,
  verify: () => ({ ok: true, verifiedBy: null }),
})

/** A real journal in a temp dir and an HttpServer on a free port, both closed at teardown. */
export async function startServer(
  t: Test,
  opts: Partial<HttpServerOptions> = {},
  journalOpts: Partial<SqliteJournalOptions> = {},
): Promise<{ server: HttpServer; journal: Journal & Partial<SqliteJournal>; url: string }> {
  let journal = opts.journal as (Journal & Partial<SqliteJournal>) | undefined
  if (!journal) {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-http-'))
    const j = new SqliteJournal({ dataDir: dir, ...journalOpts })
    await j.start()
    t.teardown(async () => {
      await j.close()
      rmSync(dir, { recursive: true, force: true })
    })
    journal = j
  }
  const server = new HttpServer({
    sources: new Map([['default', openSource('default')]]),
    host: '127.0.0.1',
    port: 0,
    logger: createLogger('silent'),
    ...opts,
    journal,
  })
  await server.start()
  t.teardown(() => server.close())
  return { server, journal, url: `http://127.0.0.1:${server.port}` }
}

/**
 * Write raw bytes on a fresh socket and resolve with everything the server sent back once it
 * sent a full response head and body or closed. `keepOpen` leaves the request unfinished.
 */
export function rawRequest(port: number, bytes: Buffer | string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1')
    let data = ''
    const timer = setTimeout(() => {
      socket.destroy()
      reject(new Error(`no complete answer; got: ${data}`))
    }, 20000)
    const finish = () => {
      clearTimeout(timer)
      socket.destroy()
      resolve(data)
    }
    socket.on('data', (d) => {
      data += d.toString('latin1')
      const head = data.indexOf('\r\n\r\n')
      const m = /content-length: (\d+)/i.exec(data)
      if (head >= 0 && m && data.length >= head + 4 + Number(m[1])) finish()
    })
    socket.on('error', () => finish())
    socket.on('close', finish)
    socket.write(bytes)
  })
}
