import { spawn, type ChildProcess } from 'node:child_process'
import { join } from 'node:path'
import { packageRoot, runningFromSources } from '../util/package-root.js'
import { onJsonLines } from './json-lines.js'

/**
 * The command line of `sluice`: the installed package's launcher (bin/sluice.js, which runs
 * dist/), as a user's tests run it; under Sluice's own tests, which run the TypeScript sources,
 * src/main.ts with the loader this process was given (tap's).
 */
function sluiceCommand(): string[] {
  const root = packageRoot()
  if (!runningFromSources) return [join(root, 'bin', 'sluice.js')]
  const loaderArgs = process.execArgv.filter((a) => a.includes('@tapjs/typescript'))
  return [...loaderArgs, join(root, 'src', 'main.ts')]
}

/**
 * Spawn `sluice <args>` as a real child process, stdout and stderr piped. `env` is laid over
 * `base` (this process's environment unless given).
 */
export function spawnSluice(
  args: string[],
  env: NodeJS.ProcessEnv,
  base: NodeJS.ProcessEnv = process.env,
): ChildProcess {
  // Engines of tests run side by side and a port is one process's (listenExclusive): an engine
  // takes free ports unless its caller names them.
  const ports = args[0] === 'start' ? { PORT: '0', SLUICE_ADMIN_PORT: '0' } : {}
  return spawn(process.execPath, [...sluiceCommand(), ...args], {
    cwd: packageRoot(),
    // Tests assert that a graceful stop exits 0; on a saturated machine a clean stop (the
    // dispatcher's grace, the worker pool, the embedded database) can outlast the 10 s default
    // bound. A test of the bound itself sets it.
    env: {
      ...base,
      ...ports,
      SLUICE_LOG_LEVEL: 'info',
      SLUICE_SHUTDOWN_TIMEOUT_MS: '60000',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
}

/** Resolve with the first stdout line (JSON log) matching pred; reject if the child exits first. */
export function waitForLog(
  child: ChildProcess,
  pred: (line: Record<string, unknown>) => boolean,
  timeoutMs = 60000,
  what = 'the expected log line',
): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)),
      timeoutMs,
    )
    const exited = (code: number | null, signal: NodeJS.Signals | null) => {
      clearTimeout(timer)
      reject(new Error(`the child exited (${signal ?? code}) before ${what}`))
    }
    const detach = onJsonLines(child.stdout!, (line) => {
      if (!pred(line)) return
      clearTimeout(timer)
      detach()
      child.off('exit', exited) // waits add up over a test: leave no listener behind
      resolve(line)
    })
    child.once('exit', exited)
  })
}
