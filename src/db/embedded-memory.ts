import { fork } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { PGlite, type PGliteOptions } from '@electric-sql/pglite'
import { runningFromSources } from '../util/package-root.js'
import { beginInitdb, endInitdb } from './embedded-initdb-marker.js'

/**
 * Server settings of the embedded Postgres, sized for an edge box rather than Postgres's
 * defaults. PGlite's shared memory lives in its WebAssembly heap, which grows and never shrinks:
 * shared_buffers 128 MB (initdb's pick) kept ~110 MB more resident for the engine's life, and
 * maintenance_work_mem 64 MB would grow the heap for good at the first VACUUM or index build.
 */
export const EMBEDDED_SETTINGS = ['shared_buffers=16MB', 'maintenance_work_mem=16MB']

const asFlags = (settings: string[]) => settings.flatMap((s) => ['-c', s])

/**
 * PGlite's options: the settings on the command line (they win over postgresql.conf, so a
 * directory initialised by an older version gets them too) and given to initdb (it runs its
 * bootstrap with them and writes them into postgresql.conf).
 */
export const embeddedOptions = (): PGliteOptions => ({
  startParams: [...PGlite.defaultStartParams, ...asFlags(EMBEDDED_SETTINGS)],
  initDbStartParams: asFlags(EMBEDDED_SETTINGS),
})

/**
 * Initialise `dir` and migrate it (src/db/embedded-initdb-schema.ts) in a process of its own
 * that then exits. initdb runs a second PGlite and
 * initdb's own WebAssembly module, about 690 MB at its peak. In a thread that ended, the memory
 * went back to the allocator but part of it stayed resident in the engine (its first-start idle
 * 150 MB above a second start's) and its peak counted in the engine's; a process returns all of
 * it to the OS, and the engine's own peak is only the PGlite that serves.
 *
 * The child works in `dir` itself, between a marker put on disk before and removed after it
 * (src/db/embedded-initdb-marker.ts says how that survives a crash). `onChild` gets the child's
 * pid (tests kill it).
 */
export async function initdbInProcess(dir: string, onChild?: (pid: number) => void): Promise<void> {
  await beginInitdb(dir)
  await initdbChild(dir, onChild)
  endInitdb(dir)
}

function initdbChild(dir: string, onChild?: (pid: number) => void): Promise<void> {
  // .ts under tap, which needs its loader flags; .js in dist/ needs none of the engine's flags
  // (a profiler's or an inspector's would clash with the engine's own).
  const ext = runningFromSources ? 'ts' : 'js'
  const child = fork(fileURLToPath(new URL(`./embedded-initdb.${ext}`, import.meta.url)), [dir], {
    execArgv: runningFromSources ? process.execArgv : [],
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  })
  if (child.pid !== undefined) onChild?.(child.pid)
  let stderr = ''
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
  return new Promise((resolve, reject) => {
    child.once('error', reject)
    child.once('exit', (code, signal) => {
      if (code === 0) return resolve()
      const why = stderr.trim() || (signal ? `killed by ${signal}` : `exit code ${code}`)
      reject(new Error(`initdb failed: ${why}`))
    })
  })
}
