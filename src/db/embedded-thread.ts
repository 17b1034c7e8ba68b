/**
 * Worker-thread body of the embedded database: PGlite runs its WebAssembly Postgres on the
 * thread that calls it, so it gets a thread of its own instead of sharing the main thread with
 * the HTTP server. Protocol with src/db/embedded.ts: workerData in, one `{ port }` or
 * `{ error }` message out; a `'close'` message in, `'closed'` out, then the thread ends.
 */
import { mkdirSync } from 'node:fs'
import { parentPort, workerData } from 'node:worker_threads'
import { PGlite } from '@electric-sql/pglite'
import { PGLiteSocketServer } from '@electric-sql/pglite-socket'
import { nameThread } from '../actors/thread-self.js'

nameThread('sluice-pglite')

export interface EmbeddedThreadData {
  dir: string
  port: number
  maxConnections: number
}

const { dir, port, maxConnections } = workerData as EmbeddedThreadData

async function start(): Promise<void> {
  mkdirSync(dir, { recursive: true })
  let db: PGlite
  try {
    db = await PGlite.create(dir)
  } catch (err) {
    parentPort!.postMessage({
      error: `cannot open the embedded database in ${dir}: ${(err as Error).message}`,
    })
    return
  }
  const server = new PGLiteSocketServer({ db, host: '127.0.0.1', port, maxConnections })
  try {
    await server.start()
  } catch (err) {
    await db.close().catch(() => {})
    parentPort!.postMessage({
      error: `cannot start the embedded database server: ${(err as Error).message}`,
    })
    return
  }
  parentPort!.on('message', (msg) => {
    if (msg !== 'close') return
    void (async () => {
      try {
        await server.stop()
      } finally {
        await db.close().catch(() => {})
        parentPort!.postMessage('closed')
        parentPort!.close()
      }
    })()
  })
  parentPort!.postMessage({ port: Number(server.getServerConn().split(':').pop()) })
}

void start()
