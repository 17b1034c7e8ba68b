import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

/** Latency percentiles of one small append + fdatasync, in ms. */
export interface FsyncLatency {
  samples: number
  p50: number
  p99: number
  p99_9: number
  max: number
}

/**
 * The disk's own commit latency while a run loads it: a child process (so the engine's event
 * loop and this one's do not colour it) appends 8 KB and calls fdatasync every 5 ms for
 * `seconds`, in a directory beside the engine's data directories (the same filesystem). A
 * request's 200 waits for the group commit in flight and then its own, so ingest p99 cannot go
 * much below this p99 on the same disk at the same time.
 */
export function probeFsync(seconds: number): Promise<FsyncLatency> {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-bench-fsync-'))
  const child = spawn(
    process.execPath,
    [fileURLToPath(new URL('./fsync-probe-child.js', import.meta.url)), String(seconds), dir],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  )
  let out = ''
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()))
  return new Promise<FsyncLatency>((resolve, reject) => {
    child.once('error', reject)
    child.once('exit', (code) => {
      rmSync(dir, { recursive: true, force: true })
      if (code !== 0) return reject(new Error(`fsync probe exited with ${code}`))
      resolve(JSON.parse(out) as FsyncLatency)
    })
  })
}
