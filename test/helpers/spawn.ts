import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { onJsonLines } from '../../bench/proc.js'

const root = fileURLToPath(new URL('../..', import.meta.url))
// Children run the TypeScript sources with the same loader tap gives this process.
const loaderArgs = process.execArgv.filter((a) => a.includes('@tapjs/typescript'))

/** Spawn `sluice <args>` from the sources as a real child process. */
export function spawnSluice(args: string[], env: NodeJS.ProcessEnv): ChildProcess {
  // Engines of tests run side by side and a port is one process's (listenExclusive): an engine
  // takes free ports unless its test names them.
  const ports = args[0] === 'start' ? { PORT: '0', SLUICE_ADMIN_PORT: '0' } : {}
  return spawn(process.execPath, [...loaderArgs, `${root}src/main.ts`, ...args], {
    cwd: root,
    // Tests assert that a graceful stop exits 0; on a saturated CI machine a clean stop (the
    // dispatcher's grace, the worker pool, the embedded database) can outlast the 10 s default
    // bound. A test of the bound itself sets it.
    env: {
      ...process.env,
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
): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('timed out waiting for log line')), timeoutMs)
    const detach = onJsonLines(child.stdout!, (line) => {
      if (!pred(line)) return
      clearTimeout(timer)
      detach()
      resolve(line)
    })
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`child exited with ${code} before the expected log line`))
    })
  })
}

/**
 * Environment that points the broker and the database at a closed port: the engine ingests and
 * journals, but nothing leaves the journal, so a test can read every acknowledged event there.
 */
export const JOURNAL_ONLY_ENV: Readonly<NodeJS.ProcessEnv> = Object.freeze({
  SLUICE_BROKER: 'rabbitmq',
  AMQP_URL: 'amqp://guest:guest@127.0.0.1:1',
  DATABASE_URL: 'postgres://postgres@127.0.0.1:1/none',
})

/** Collect a child's output and resolve with its exit code once its streams closed. */
export function collect(
  child: ChildProcess,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  let stdout = ''
  let stderr = ''
  child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()))
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()))
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, stdout, stderr })))
}
