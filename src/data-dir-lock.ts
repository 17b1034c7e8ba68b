import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import Database from 'better-sqlite3'
import { SluiceError } from './errors.js'

/** The lock itself: SQLite holds an fcntl lock on it while a holder runs. */
export const LOCK_FILE = 'lock.db'
/** Who holds the lock, for the error message only (never trusted as the lock). */
export const HOLDER_FILE = 'lock.json'
/** The holder an engine writes (src/engine.ts); `sluice dlq` looks for it (src/commands/dlq.ts). */
export const ENGINE_HOLDER = 'sluice start'

export interface DataDirLock {
  readonly dir: string
  /** Give the directory up. Idempotent; also happens when the process dies, even by kill -9. */
  release(): void
}

/** What the holder wrote into lock.json; missing fields when it could not be read. */
export interface LockHolder {
  pid?: number
  command?: string
  startedAt?: string
}

/** Another process (or another part of this one) has the data directory. */
export class DataDirLockedError extends SluiceError<'data_dir_locked'> {
  override name = 'DataDirLockedError'

  constructor(
    readonly dir: string,
    readonly holder: LockHolder,
    options?: ErrorOptions,
  ) {
    super(
      'data_dir_locked',
      `SLUICE_DATA_DIR ${dir} is in use by ${describe(holder)}: one process at a time may ` +
        'open a data directory; stop that one first, or give this one another SLUICE_DATA_DIR',
      options,
    )
  }
}

// Strong references: a better-sqlite3 handle that is garbage-collected closes, which would drop
// the lock while its holder still runs.
const held = new Set<Database.Database>()

/**
 * Take the data directory for this process, or throw DataDirLockedError naming the holder.
 *
 * Why SQLite: `locking_mode=EXCLUSIVE` plus an open `BEGIN EXCLUSIVE` is an fcntl lock that the
 * kernel drops with the process, however it dies, so a kill -9 never leaves a stale lock (a pid
 * file would). SQLite also tracks its locks per file across connections of one process, so a
 * second attempt from the same process fails too. `holder` says what the process is, e.g.
 * `sluice start`.
 */
export function lockDataDir(dir: string, holder: string): DataDirLock {
  const abs = resolve(dir)
  mkdirSync(abs, { recursive: true })
  // timeout 0: a held lock answers SQLITE_BUSY at once instead of waiting 5 s.
  const db = new Database(join(abs, LOCK_FILE), { timeout: 0 })
  try {
    db.pragma('locking_mode = EXCLUSIVE')
    db.exec('BEGIN EXCLUSIVE')
  } catch (err) {
    db.close()
    if ((err as { code?: string }).code === 'SQLITE_BUSY') {
      throw new DataDirLockedError(abs, readHolder(abs), { cause: err })
    }
    throw err
  }
  held.add(db)
  writeHolder(abs, { pid: process.pid, command: holder, startedAt: new Date().toISOString() })
  let released = false
  return {
    dir: abs,
    release() {
      if (released) return
      released = true
      // Removed while still locked, so it can never delete the next holder's file.
      rmSync(join(abs, HOLDER_FILE), { force: true })
      held.delete(db)
      db.close()
    },
  }
}

function writeHolder(dir: string, holder: Required<LockHolder>): void {
  const tmp = join(dir, `${HOLDER_FILE}.${process.pid}.tmp`)
  writeFileSync(tmp, `${JSON.stringify(holder)}\n`)
  renameSync(tmp, join(dir, HOLDER_FILE)) // readers never see half a file
}

/** The holder's lock.json, or {} when it is missing, unreadable or left by a dead process. */
export function readHolder(dir: string): LockHolder {
  try {
    const parsed = JSON.parse(readFileSync(join(dir, HOLDER_FILE), 'utf8')) as LockHolder
    if (typeof parsed.pid !== 'number' || !isAlive(parsed.pid)) return {}
    return parsed
  } catch {
    return {}
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM' // alive, owned by another user
  }
}

function describe(h: LockHolder): string {
  // The holder writes lock.json just after it took the lock; in between there is nothing to show.
  if (h.pid === undefined) return 'another process'
  const what = h.command ? ` (${h.command}${h.startedAt ? `, since ${h.startedAt}` : ''})` : ''
  return `${h.pid === process.pid ? 'this process, ' : ''}pid ${h.pid}${what}`
}

/** Run `fn` holding the data directory (one-shot commands: sluice migrate, sluice dlq). */
export async function withDataDirLock<T>(
  dir: string,
  holder: string,
  fn: () => Promise<T>,
): Promise<T> {
  const lock = lockDataDir(dir, holder)
  try {
    return await fn()
  } finally {
    lock.release()
  }
}
