import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { Worker } from 'node:worker_threads'
import { PGlite, type PGliteOptions } from '@electric-sql/pglite'
import { runningFromSources } from '../util/package-root.js'

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

/** Whether `dir` holds no database yet (PGlite would run initdb on it). */
export const needsInitdb = (dir: string) => !existsSync(join(dir, 'PG_VERSION'))

/**
 * Initialise `dir` in a thread of its own that then exits. initdb runs a second PGlite and
 * initdb's own WebAssembly module, and what they grow (about 500 MB) stayed referenced after
 * PGlite closed them: in a thread that ends, all of it is returned at once, and the thread that
 * serves opens the initialised directory with only its own heap.
 */
export function initdbInThread(dir: string): Promise<void> {
  // Same loader rule as the other threads: .ts under tap (execArgv is inherited), .js in dist/.
  const ext = runningFromSources ? 'ts' : 'js'
  const worker = new Worker(new URL(`./embedded-initdb.${ext}`, import.meta.url), {
    workerData: { dir },
  })
  return new Promise((resolve, reject) => {
    let failure: Error | null = null
    worker.once('error', (err) => (failure = err))
    worker.once('exit', (code) => {
      if (code === 0 && !failure) resolve()
      else reject(failure ?? new Error(`the initdb thread exited with ${code}`))
    })
  })
}
