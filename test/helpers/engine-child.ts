import type { ChildProcess } from 'node:child_process'
import { spawnSluice, waitForLog } from './spawn.js'

/** The engine as a real child process that a test can kill -9 and start again on the same data. */
export class EngineChild {
  child: ChildProcess | null = null
  port = 0
  adminPort = 0
  /** The last lines the engine logged, for a failed assertion to show why. */
  private readonly tail: string[] = []

  constructor(private readonly env: NodeJS.ProcessEnv) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}/webhook`
  }

  async start(): Promise<void> {
    const env = { PORT: '0', HOST: '127.0.0.1', ...this.env }
    const child = spawnSluice(['start'], env)
    child.stderr?.on('data', () => {}) // drain, so a chatty child never blocks on a full pipe
    this.child = child
    const line = await waitForLog(child, (l) => l.msg === 'listening')
    child.stdout?.on('data', (chunk: Buffer) => {
      this.tail.push(...chunk.toString().split('\n').filter(Boolean))
      this.tail.splice(0, Math.max(0, this.tail.length - 40))
    })
    this.port = Number(line.port)
    this.adminPort = Number(line.adminPort)
  }

  /**
   * SIGKILL the running engine. Resolves with the signal it died of, or null when no engine was
   * running (never started, or already gone): a test asserts 'SIGKILL' to show it killed one.
   */
  async kill9(): Promise<NodeJS.Signals | null> {
    const child = this.child
    if (!child || child.exitCode !== null || child.signalCode !== null) return null
    const exited = new Promise<NodeJS.Signals | null>((r) =>
      child.once('exit', (_code, signal) => r(signal)),
    )
    child.kill('SIGKILL')
    return exited
  }

  /** The engine's last log lines (at most 40), one per line. */
  logTail(): string {
    return this.tail.join('\n')
  }

  /** Graceful stop (SIGTERM); resolves with the exit code. */
  async stop(): Promise<number | null> {
    const child = this.child
    if (!child || child.exitCode !== null || child.signalCode !== null)
      return child?.exitCode ?? null
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)))
    child.kill('SIGTERM')
    return exited
  }
}
