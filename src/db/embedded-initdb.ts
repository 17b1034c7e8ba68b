/**
 * Child-process body that initialises the embedded database's directory, migrates it, and exits
 * (src/db/embedded-memory.ts says why in a process of its own). Its only argument is the
 * directory; an error is written to stderr and exits 1. It holds the lock on the directory's
 * marker while it runs and exits 0 only once every file it made is on disk
 * (src/db/embedded-initdb-marker.ts).
 */
import { realpathSync } from 'node:fs'
import { inspect } from 'node:util'
import { PGlite } from '@electric-sql/pglite'
import { fsyncTree } from '../util/durable-fs.js'
import { initdbMarker, lockMarker } from './embedded-initdb-marker.js'
import { prepareSchema } from './embedded-initdb-schema.js'
import { embeddedOptions } from './embedded-memory.js'

process.title = 'sluice-pg-initdb'
// The engine stopped or died: it ends rather than finish. The marker stays, so the next start
// clears what this wrote and runs initdb again (once this process, the lock's holder, is gone).
process.on('disconnect', () => process.exit(1))
const dir = process.argv[2]
try {
  if (!dir) throw new Error('no directory given')
  // Kept until the process ends: the kernel then drops the lock.
  if (!lockMarker(initdbMarker(dir))) throw new Error('another initdb runs in this directory')
  // PGlite cannot open a symlink (Emscripten's NODEFS mount fails with ENOENT): its target.
  const db = await PGlite.create(realpathSync(dir), embeddedOptions())
  try {
    // Its heap growth stays in this process too (embedded-initdb-schema.ts). Best effort: a
    // migration or maintenance round that fails here fails the same way in the engine, which
    // retries it by its own rules (classified, on the initialised directory) instead of the
    // whole initdb again on every retry. Each migration commits with its ledger row, so a failed
    // one leaves a whole version; the round is idempotent.
    await prepareSchema(db).catch((err: unknown) =>
      process.stderr.write(
        `schema left to the engine: ${(err as Error)?.message ?? inspect(err)}\n`,
      ),
    )
  } finally {
    await db.close()
  }
  // PGlite writes through Emscripten's NODEFS, which never fsyncs; like Postgres's own initdb
  // (its sync step), everything is made durable before the marker may go.
  await fsyncTree(dir)
} catch (err) {
  // PGlite's file errors are Emscripten's ErrnoError, no Error and without a message.
  process.stderr.write(`${err instanceof Error ? err.message : inspect(err)}\n`)
  process.exitCode = 1
}
// The IPC channel would keep this process waiting for its parent.
process.exit()
