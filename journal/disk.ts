import { statfs, stat } from 'node:fs/promises'

/** Bytes available to this (unprivileged) process on the file system holding `dir`. */
export async function freeDiskBytes(dir: string): Promise<number> {
  const s = await statfs(dir)
  return s.bavail * s.bsize
}

/** Total size of the SQLite files (main, WAL, shared memory) of the journal at `path`. */
export async function journalFileBytes(path: string): Promise<number> {
  let total = 0
  for (const f of [path, `${path}-wal`, `${path}-shm`]) {
    try {
      total += (await stat(f)).size
    } catch {
      // A missing WAL or shm file counts as zero bytes.
    }
  }
  return total
}
