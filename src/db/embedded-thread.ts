/**
 * Worker-thread body of the embedded database: PGlite runs its WebAssembly Postgres on the
 * thread that calls it, so it gets a thread of its own instead of sharing the main thread with
 * the HTTP server. It serves EmbeddedActorApi to src/db/embedded.ts (a ThreadHost): `started`
 * once the socket server listens, or `failed` with the reason; `close` stops both.
 */
import { mkdirSync, realpathSync } from 'node:fs'
import { parentPort, workerData } from 'node:worker_threads'
import { PGlite } from '@electric-sql/pglite'
import { PGLiteSocketServer } from '@electric-sql/pglite-socket'
import { Rpc } from '../actors/rpc.js'
import type { ActorApi, HostApi } from '../actors/thread-host.js'
import { nameThread } from '../actors/thread-self.js'
import { needsInitdb } from './embedded-initdb-marker.js'
import { embeddedOptions, initdbInProcess } from './embedded-memory.js'

nameThread('sluice-pglite')

export interface EmbeddedThreadData {
  dir: string
  port: number
  maxConnections: number
}

/** What the thread serves the engine. */
export interface EmbeddedActorApi extends ActorApi {
  /** The port the socket server listens on (asked once it cast `started`). */
  port(): number
  close(): Promise<void>
}

/** What the engine serves the thread, besides HostApi. */
export interface EmbeddedHostApi {
  /** The database could not be opened or served: the start fails with this message. */
  failed(message: string): void
}

const { dir, port, maxConnections } = workerData as EmbeddedThreadData
let db: PGlite | null = null
let server: PGLiteSocketServer | null = null

async function start(): Promise<void> {
  mkdirSync(dir, { recursive: true })
  try {
    // A first start initialises the directory in a process that exits (embedded-memory.ts).
    if (needsInitdb(dir)) await initdbInProcess(dir)
    // PGlite cannot open a symlink (Emscripten's NODEFS mount fails with ENOENT): its target.
    db = await PGlite.create(realpathSync(dir), embeddedOptions())
  } catch (err) {
    return rpc.cast.failed(`cannot open the embedded database in ${dir}: ${(err as Error).message}`)
  }
  const listening = new PGLiteSocketServer({ db, host: '127.0.0.1', port, maxConnections })
  try {
    await listening.start()
  } catch (err) {
    const message = `cannot start the embedded database server: ${(err as Error).message}`
    return rpc.cast.failed(message)
  }
  server = listening
  rpc.cast.started()
}

const actor: EmbeddedActorApi = {
  port: () => Number(server?.getServerConn().split(':').pop()),
  close: async () => {
    await starting
    try {
      await server?.stop()
    } finally {
      await db?.close().catch(() => {})
      // Nothing of ours is left on this thread's loop: let it end.
      parentPort!.unref()
    }
  },
}
const rpc = new Rpc<HostApi & EmbeddedHostApi>(parentPort!, actor)
const starting = start()
