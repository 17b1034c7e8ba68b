import { spawn, type ChildProcess } from 'node:child_process'
import { readFileSync } from 'node:fs'

/** Spawn `node <script> ...args` and resolve with the first stdout JSON line matching pred. */
export function startNode(
  script: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  pred: (line: Record<string, unknown>) => boolean,
): Promise<{ child: ChildProcess; line: Record<string, unknown> }> {
  const child = spawn(process.execPath, [script, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  return new Promise((resolve, reject) => {
    let buf = ''
    const onData = (d: Buffer) => {
      buf += d.toString()
      let nl
      while ((nl = buf.indexOf('\n')) >= 0) {
        const text = buf.slice(0, nl)
        buf = buf.slice(nl + 1)
        try {
          const line = JSON.parse(text) as Record<string, unknown>
          if (pred(line)) {
            child.stdout?.off('data', onData)
            child.stdout?.resume()
            resolve({ child, line })
            return
          }
        } catch {
          /* not JSON */
        }
      }
    }
    child.stdout?.on('data', onData)
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
