import { existsSync, readdirSync, rmSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import Database from 'better-sqlite3'
import { fsyncPath, writeFileDurably } from '../util/durable-fs.js'

/**
 * Crash safety of the embedded database's first start. initdb runs in place, in the directory
 * itself (never a directory renamed over it: `<data>/pg` may be a mount point or a symlink, which
 * must stay). A marker next to it, `<data>/pg.initdb-incomplete`, is on disk before initdb
 * starts and removed only once the finished directory is on disk, so a start interrupted at any
 * point (SIGKILL, power loss) leaves the marker and the next start runs initdb again. Next to
 * the directory rather than in it: clearing the directory's contents cannot remove it, and
 * PG_VERSION (initdb's first file) is no proof of a finished directory.
 *
 * The marker is also a lock: the initdb child holds SQLite's fcntl lock on it (an empty file is
 * an empty SQLite database), which the kernel drops when the child ends, however it ends. A child
 * outliving a stopped engine exits between two steps of initdb or of its migrations; the next
 * start waits for that lock before it clears the directory, so two initdbs never write into it
 * at once.
 */
export const initdbMarker = (dir: string) => `${dir}.initdb-incomplete`

/** Whether `dir` holds no finished database (PGlite would run initdb, or one was interrupted). */
export const needsInitdb = (dir: string) =>
  !existsSync(join(dir, 'PG_VERSION')) || existsSync(initdbMarker(dir))

/** How long a start waits for a child left by the previous one to exit. */
const EARLIER_CHILD_WAIT_MS = 60_000

/** Take the marker's lock (held until the process ends or closes it), or null if another holds it. */
export function lockMarker(marker: string): Database.Database | null {
  // timeout 0: a held lock answers SQLITE_BUSY at once instead of waiting 5 s.
  const db = new Database(marker, { timeout: 0 })
  try {
    db.pragma('locking_mode = EXCLUSIVE')
    db.exec('BEGIN EXCLUSIVE')
    return db
  } catch (err) {
    db.close()
    if ((err as { code?: string }).code === 'SQLITE_BUSY') return null
    throw err
  }
}

/**
 * Before initdb runs on `dir`: if an earlier start left the marker, wait until its child is gone
 * and clear the directory's contents (not the directory); otherwise put the marker on disk.
 */
export async function beginInitdb(dir: string): Promise<void> {
  const marker = initdbMarker(dir)
  if (!existsSync(marker)) return writeFileDurably(marker, '')
  const deadline = Date.now() + EARLIER_CHILD_WAIT_MS
  for (;;) {
    const held = lockMarker(marker)
    if (held) {
      held.close()
      break
    }
    if (Date.now() > deadline) throw new Error(`an earlier initdb still holds ${marker}`)
    await sleep(100)
  }
  if (!existsSync(dir)) return
  for (const name of readdirSync(dir)) rmSync(join(dir, name), { recursive: true, force: true })
}

/** After initdb finished and its files are on disk: the marker goes, durably. */
export function endInitdb(dir: string): void {
  const marker = initdbMarker(dir)
  rmSync(marker)
  // SQLite's rollback journal, should a lock holder have been killed with one open.
  rmSync(`${marker}-journal`, { force: true })
  fsyncPath(dirname(dir))
}
