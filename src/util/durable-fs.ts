import { closeSync, fsyncSync, openSync, readdirSync, writeSync } from 'node:fs'
import { dirname, join } from 'node:path'

/**
 * fsync one file or directory. Windows cannot open a directory for fsync (EISDIR/EPERM) and
 * makes directory entries durable on its own, so there a directory is skipped.
 */
export function fsyncPath(path: string): void {
  let fd: number
  try {
    fd = openSync(path, 'r')
  } catch (err) {
    if (process.platform === 'win32') return
    throw err
  }
  try {
    fsyncSync(fd)
  } catch (err) {
    if (process.platform !== 'win32') throw err
  } finally {
    closeSync(fd)
  }
}

/** fsync every file and directory under `dir`, and `dir` itself (after what it lists). */
export function fsyncTree(dir: string): void {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) fsyncTree(path)
    else if (entry.isFile()) fsyncPath(path)
  }
  fsyncPath(dir)
}

/** Create (or truncate) `path` with `content`, on disk and named in its directory when this returns. */
export function writeFileDurably(path: string, content: string): void {
  const fd = openSync(path, 'w')
  try {
    writeSync(fd, content)
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
  fsyncPath(dirname(path))
}
