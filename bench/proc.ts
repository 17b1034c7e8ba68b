import { spawn, type ChildProcess } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { onJsonLines } from '../src/testing/json-lines.js'

// The bench and the tests read children's JSON logs with the test kit's reader.
export { onJsonLines }

/**
 * Spawn `node <script> ...args` and resolve with the first stdout JSON line matching pred.
 * `nodeArgs` go before the script (Node refuses profiler flags in NODE_OPTIONS).
 */
export function startNode(
  script: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  pred: (line: Record<string, unknown>) => boolean,
  nodeArgs: readonly string[] = [],
): Promise<{ child: ChildProcess; line: Record<string, unknown> }> {
  const child = spawn(process.execPath, [...nodeArgs, script, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  return new Promise((resolve, reject) => {
    const detach = onJsonLines(child.stdout, (line) => {
      if (!pred(line)) return
      detach()
      child.stdout?.resume()
      resolve({ child, line })
    })
    child.once('exit', (code) => reject(new Error(`${script} exited with ${code} before starting`)))
  })
}

/** Peak resident set size of a live process in bytes (Linux VmHWM), null where unavailable. */
export function peakRss(pid: number | undefined): number | null {
  if (!pid) return null
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return m ? Number(m[1]) * 1024 : null
  } catch {
    return null
  }
}

/** SIGTERM the child and wait for it to exit (SIGKILL after 10 s). */
export function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve()
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 10000)
    child.once('exit', () => {
      clearTimeout(timer)
      resolve()
    })
    child.kill('SIGTERM')
  })
}
