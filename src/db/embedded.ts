import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { PGlite } from '@electric-sql/pglite'
import { PGLiteSocketServer } from '@electric-sql/pglite-socket'

export interface EmbeddedOptions {
  /** SLUICE_DATA_DIR; the database lives in `<dataDir>/pg`. */
  dataDir: string
  /**
   * Client connections the socket server accepts at once. PGlite is one single-user backend:
   * pglite-socket multiplexes connections onto it (default 1, a further connection is refused
   * with "Too many connections") and runs one protocol message at a time, keeping an open
   * transaction's connection first in line. Size it to every pool that connects: worker
   * threads × connections per thread, plus the main thread's pool. @defaultValue 16
   */
  maxConnections?: number
  /** Loopback port; 0 picks a free one. @defaultValue 0 */
  port?: number
}

const defaults = Object.freeze({ maxConnections: 16, port: 0 })

export interface EmbeddedPostgres {
  /** postgres:// URL of the wire-protocol server on 127.0.0.1. */
  url: string
  /** Stop the socket server and close PGlite (flushing its files). Idempotent. */
  close(): Promise<void>
}

/**
 * Start PGlite on `<dataDir>/pg` behind a wire-protocol server on 127.0.0.1, so the same `pg`
 * code runs as against a real PostgreSQL. Used when DATABASE_URL is unset.
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
  const dir = join(o.dataDir, 'pg')
  mkdirSync(dir, { recursive: true })
  let db: PGlite
  try {
    db = await PGlite.create(dir)
  } catch (err) {
    throw new Error(`cannot open the embedded database in ${dir}: ${(err as Error).message}`, {
      cause: err,
    })
  }
  const server = new PGLiteSocketServer({
    db,
    host: '127.0.0.1',
    port: o.port,
    maxConnections: o.maxConnections,
  })
  try {
    await server.start()
  } catch (err) {
    await db.close().catch(() => {})
    throw new Error(`cannot start the embedded database server: ${(err as Error).message}`, {
      cause: err,
    })
  }
  const port = Number(server.getServerConn().split(':').pop())
  let closing: Promise<void> | null = null
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    close() {
      closing ??= (async () => {
        try {
          await server.stop()
        } finally {
          await db.close()
        }
      })()
      return closing
    },
  }
}
