import { execFileSync } from 'node:child_process'
import { rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const source = fileURLToPath(new URL('../fixtures/iofault/iofault.c', import.meta.url))

/** The faults the shim can inject; each name is its control file. */
export type IoFault = 'fsync-eio' | 'write-enospc'

/** Why the test cannot run here, or null: the shim needs gcc (never committed as a binary). */
export function iofaultUnavailable(): string | null {
  if (process.platform !== 'linux') return 'the LD_PRELOAD shim is Linux-only'
  try {
    execFileSync('gcc', ['--version'], { stdio: 'ignore' })
    return null
  } catch {
    return 'gcc is missing: it compiles the I/O-fault shim (.ci/run installs it)'
  }
}

/**
 * Compile test/fixtures/iofault/iofault.c into `dir` and return the environment that loads it
 * into a child, failing I/O on files whose path starts with `target` while a fault is on.
 */
export function buildIoFault(dir: string, target: string): NodeJS.ProcessEnv {
  const so = join(dir, 'iofault.so')
  execFileSync('gcc', ['-shared', '-fPIC', '-O2', '-o', so, source, '-ldl'], { stdio: 'pipe' })
  return { LD_PRELOAD: so, SLUICE_IOFAULT_DIR: dir, SLUICE_IOFAULT_TARGET: target }
}

/** Switch a fault on or off in every process that loaded the shim with this `dir`. */
export function setIoFault(dir: string, fault: IoFault, on: boolean): void {
  const file = join(dir, fault)
  if (on) writeFileSync(file, '')
  else rmSync(file, { force: true })
}
