import pg from 'pg'
import type { PGlite } from '@electric-sql/pglite'
import { PGLiteSocketServer } from '@electric-sql/pglite-socket'
import { Maintenance } from './maintenance.js'
import { migrate } from './migrate.js'

/**
 * The first start's schema work, done by the initdb child (src/db/embedded-initdb.ts) on the
 * PGlite it just initialised: the migrations, then a first maintenance round (today's and the
 * next days' partitions). PGlite's WebAssembly heap grows and never shrinks; this DDL (catalog
 * work, index builds) grew the engine's for good, its first-start idle ~20-50 MB above a later
 * start's. In the child it goes with the process; the engine's own migrate() and maintenance
 * round then find it done. Through the wire protocol, as the engine does, so it is the same code.
 */
export async function prepareSchema(db: PGlite): Promise<void> {
  const server = new PGLiteSocketServer({ db, host: '127.0.0.1', port: 0, maxConnections: 1 })
  await server.start()
  try {
    const url = `postgres://postgres@${server.getServerConn()}/postgres`
    const pool = new pg.Pool({ connectionString: url, max: 1 })
    try {
      await migrate(pool)
      await new Maintenance({ pool }).runOnce()
    } finally {
      await pool.end()
    }
  } finally {
    await server.stop()
  }
}
