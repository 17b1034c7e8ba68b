import type { ChildProcess } from 'node:child_process'
import { spawnSluice, waitForLog } from './spawn.js'

const TAIL_LINES = 40

/**
 * `sluice start` as a real child process that a test can kill -9 and start again on the same
 * data (the engine's ports are free ones, so they change with each start).
 */
export class EngineProcess {
  child: ChildProcess | null = null
  port = 0
  adminPort = 0
  /** The last lines the engine wrote, for a failed assertion to show why. */
  private readonly tail: string[] = []

  /** `env` is laid over `base` (this process's environment unless given). */
  constructor(
    private readonly env: NodeJS.ProcessEnv,
    private readonly base: NodeJS.ProcessEnv = process.env,
  ) {}

  /** The webhook route of the default source. */
  get url(): string {
    return `http://127.0.0.1:${this.port}/webhook`
  }

  /** Whether an engine this object started is running now. */
  get running(): boolean {
    const child = this.child
    return child !== null && child.exitCode === null && child.signalCode === null
  }

  /** Start the engine; resolves once it listens (its journal is open: a 200 is durable). */
  async start(timeoutMs = 60000): Promise<void> {
    const child = spawnSluice(['start'], { PORT: '0', HOST: '127.0.0.1', ...this.env }, this.base)
    this.child = child
    // Both streams are read all along, so a chatty child never blocks on a full pipe.
    child.stdout?.on('data', (chunk: Buffer) => this.keep(chunk))
    child.stderr?.on('data', (chunk: Buffer) => this.keep(chunk))
    let line: Record<string, unknown>
    try {
      line = await waitForLog(child, (l) => l.msg === 'listening', timeoutMs, 'the engine listens')
    } catch (err) {
      if (this.running) child.kill('SIGKILL')
      const why = `${(err as Error).message}; its last output:\n${this.logTail()}`
      throw new Error(why, { cause: err })
    }
    this.port = Number(line.port)
    this.adminPort = Number(line.adminPort)
  }

  private keep(chunk: Buffer): void {
    this.tail.push(...chunk.toString().split('\n').filter(Boolean))
    this.tail.splice(0, Math.max(0, this.tail.length - TAIL_LINES))
  }

  /**
   * SIGKILL the running engine. Resolves with the signal it died of, or null when no engine was
   * running (never started, or already gone): a test asserts 'SIGKILL' to show it killed one.
   */
  async kill9(): Promise<NodeJS.Signals | null> {
    const child = this.child
    if (!child || !this.running) return null
    const exited = new Promise<NodeJS.Signals | null>((r) =>
      child.once('exit', (_code, signal) => r(signal)),
    )
    child.kill('SIGKILL')
    return exited
  }

  /** The engine's last lines of output (at most 40), one per line. */
  logTail(): string {
    return this.tail.join('\n')
  }

  /** Graceful stop (SIGTERM); resolves with the exit code. */
  async stop(): Promise<number | null> {
    const child = this.child
    if (!child || !this.running) return child?.exitCode ?? null
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)))
    child.kill('SIGTERM')
    return exited
  }
}
