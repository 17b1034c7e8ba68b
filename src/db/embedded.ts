import { join } from 'node:path'
import { Worker } from 'node:worker_threads'
import type { EmbeddedThreadData } from './embedded-thread.js'
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
}

const defaults = Object.freeze({ maxConnections: 16, port: 0 })

export interface EmbeddedPostgres {
  /** postgres:// URL of the wire-protocol server on 127.0.0.1. */
  url: string
  /** Stop the socket server and close PGlite (flushing its files), end the thread. Idempotent. */
  close(): Promise<void>
}

// Same loader rule as the Piscina workers: .ts under tap (execArgv is inherited), .js in dist/.
const threadFile = new URL(`./embedded-thread.${runningFromSources ? 'ts' : 'js'}`, import.meta.url)

/**
 * Start PGlite on `<dataDir>/pg` behind a wire-protocol server on 127.0.0.1, so the same `pg`
 * code runs as against a real PostgreSQL. Used when DATABASE_URL is unset. PGlite and its
 * server run in a worker thread of their own (PGlite computes on the calling thread; on the
 * main thread it would compete with the HTTP server).
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
  const workerData: EmbeddedThreadData = {
    dir: join(o.dataDir, 'pg'),
    port: o.port,
    maxConnections: o.maxConnections,
  }
  o.signal?.throwIfAborted()
  const worker = new Worker(threadFile, { workerData })
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()))
  let onAbort = () => {}
  const port = await new Promise<number>((resolve, reject) => {
    worker.once('message', (msg: { port?: number; error?: string }) =>
      msg.port ? resolve(msg.port) : reject(new Error(msg.error ?? 'embedded database failed')),
    )
    worker.once('error', (err) =>
      reject(new Error(`embedded database thread failed: ${err.message}`, { cause: err })),
    )
    void exited.then(() => reject(new Error('embedded database thread exited while starting')))
    // Ending the thread mid-start is what a crash there would do, and PGlite comes back from
    // it: killed at every stage of a first start (before any file, with 400 of its ~970 files,
    // right after PG_VERSION), the next start initialised or opened the directory and migrated.
    // Waiting instead held a stop for the whole first start (over 10 s on a loaded machine).
    onAbort = () => reject(new Error('the embedded database start was abandoned: stopping'))
    o.signal?.addEventListener('abort', onAbort, { once: true })
  })
    .catch(async (err: unknown) => {
      await worker.terminate()
      throw err
    })
    .finally(() => o.signal?.removeEventListener('abort', onAbort))
  // After start, a crash of the thread shows as connection errors on every pool (readiness
  // reports it); an 'error' event without a listener would crash the whole process instead.
  worker.on('error', () => {})
  let closing: Promise<void> | null = null
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    close() {
      closing ??= (async () => {
        worker.postMessage('close')
        await exited
      })()
      return closing
    },
  }
}
