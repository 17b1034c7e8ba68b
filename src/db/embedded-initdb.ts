/**
 * Child-process body that initialises the embedded database's directory and exits
 * (src/db/embedded-memory.ts says why in a process of its own). Its only argument is the
 * directory; an error is written to stderr and exits 1.
 */
import { PGlite } from '@electric-sql/pglite'
import { embeddedOptions } from './embedded-memory.js'

process.title = 'sluice-pg-initdb'
// The engine stopped or died: nothing will use what this makes (it writes into a directory of its
// own, src/db/embedded-memory.ts), so it ends rather than finish.
process.on('disconnect', () => process.exit(1))
const dir = process.argv[2]
try {
  if (!dir) throw new Error('no directory given')
  const db = await PGlite.create(dir, embeddedOptions())
  await db.close()
} catch (err) {
  process.stderr.write(`${(err as Error).message}\n`)
  process.exitCode = 1
}
// The IPC channel would keep this process waiting for its parent.
process.exit()
