import { join } from 'node:path'
import pino from 'pino'
import { ThreadHost } from '../actors/thread-host.js'
import type { Logger } from '../log.js'
import type { EmbeddedActorApi, EmbeddedHostApi, EmbeddedThreadData } from './embedded-thread.js'
import { runningFromSources } from '../util/package-root.js'

export interface EmbeddedOptions {
  /** SLUICE_DATA_DIR; the database lives in `<dataDir>/pg`. */
  dataDir: string
  /**
   * Client connections the socket server accepts at once. PGlite is one single-user backend:
   * pglite-socket multiplexes connections onto it (its default is 1; a further connection is
   * refused with "Too many connections") and runs one protocol message at a time, keeping an
   * open transaction's connection first in line. Size it to every pool that connects: worker
   * threads × connections per thread, plus the main thread's pool. @defaultValue 16
   */
  maxConnections?: number
  /** Loopback port; 0 picks a free one. @defaultValue 0 */
  port?: number
  /**
   * Abandons a start in progress (the engine stops): the thread is ended at once, even in the
   * middle of PGlite's first initialisation of the data directory.
   */
  signal?: AbortSignal
  /** Writes the thread's death and restart. @defaultValue silent */
  logger?: Logger
}

const defaults = Object.freeze({ maxConnections: 16, port: 0 })

export interface EmbeddedPostgres {
  /** postgres:// URL of the wire-protocol server on 127.0.0.1. */
  url: string
  /** Stop the socket server and close PGlite (flushing its files), end the thread. Idempotent. */
  close(): Promise<void>
  /** Ends the thread at once, as a crash would (tests): a new one follows the back-off. */
  terminate(): Promise<void>
}

// Same loader rule as the Piscina workers: .ts under tap (execArgv is inherited), .js in dist/.
const threadFile = new URL(`./embedded-thread.${runningFromSources ? 'ts' : 'js'}`, import.meta.url)

/**
 * Start PGlite on `<dataDir>/pg` behind a wire-protocol server on 127.0.0.1, so the same `pg`
 * code runs as against a real PostgreSQL. Used when DATABASE_URL is unset. PGlite and its
 * server run in a worker thread of their own (PGlite computes on the calling thread; on the
 * main thread it would compete with the HTTP server). A thread that dies after the start is
 * restarted on the same port, so the pools' URL stays right.
 *
 * Embedded caveats: all connections share one session, so advisory locks never block (there is
 * only one node anyway) and queries run one at a time: throughput is that of one backend.
 */
export async function startEmbeddedPostgres(options: EmbeddedOptions): Promise<EmbeddedPostgres> {
  const o = { ...defaults, ...options }
  if (typeof o.dataDir !== 'string' || o.dataDir === '') {
    throw new TypeError('options.dataDir must be a directory path')
  }
  if (!Number.isInteger(o.maxConnections) || o.maxConnections < 1) {
    throw new TypeError('options.maxConnections must be a positive integer')
  }
  if (!Number.isInteger(o.port) || o.port < 0 || o.port > 65535) {
    throw new TypeError('options.port must be an integer from 0 to 65535')
  }
  o.signal?.throwIfAborted()
  let port = o.port
  let settle: { resolve: (port: number) => void; reject: (err: Error) => void } | null = null
  const fail = (err: Error) => settle?.reject(err)
  const logger = o.logger ?? pino({ level: 'silent' })
  const host = new ThreadHost<EmbeddedActorApi>({
    file: threadFile,
    workerData: (): EmbeddedThreadData => ({
      dir: join(o.dataDir, 'pg'),
      port,
      maxConnections: o.maxConnections,
    }),
    serve: {
      failed: (message) => {
        if (settle) return fail(new Error(message))
        // A restart that cannot open or serve: end it, so the next one follows the back-off.
        logger.error({ reason: message }, 'embedded database thread could not start again')
        void host.terminate()
      },
    } satisfies EmbeddedHostApi,
    logger,
    name: 'embedded database thread',
    whileDown: 'database calls fail until it is back',
    onStarted: (rpc) => void rpc.remote.port().then((p) => settle?.resolve(p), fail),
    onDied: (_code, started) => {
      if (!started) fail(new Error('embedded database thread exited while starting'))
    },
  })
  let onAbort = () => {}
  try {
    port = await new Promise<number>((resolve, reject) => {
      settle = { resolve, reject }
      // Ending the thread mid-start is what a crash there would do, and PGlite comes back from
      // it: killed at every stage of a first start (before any file, with 400 of its ~970
      // files, right after PG_VERSION), the next start initialised or opened the directory and
      // migrated. Waiting instead held a stop for the whole first start (over 10 s loaded).
      onAbort = () => reject(new Error('the embedded database start was abandoned: stopping'))
      o.signal?.addEventListener('abort', onAbort, { once: true })
      host.start()
    })
  } catch (err) {
    // Abandoned: end the thread now, mid-initialisation if need be (see above).
    await (o.signal?.aborted ? host.abandon() : host.close())
    throw err
  } finally {
    settle = null
    o.signal?.removeEventListener('abort', onAbort)
  }
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    close: () => host.close(),
    terminate: () => host.terminate(),
  }
}
