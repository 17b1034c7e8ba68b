import { Worker } from 'node:worker_threads'
import { relayLog, type Logger } from '../log.js'
import { backoffDelay, sleep } from '../util/backoff.js'
import { onceAsync } from '../util/once.js'
import { withTimeout } from '../util/timeout.js'
import { ChannelClosedError, Rpc, type Handler } from './rpc.js'

/** One incarnation of a supervised thread. */
export interface Incarnation {
  readonly worker: Worker
  readonly rpc: Rpc
  readonly exited: Promise<void>
  /** The actor cast `started`: it is set up and answers calls. */
  started: boolean
}

export interface ThreadHostOptions {
  /** The actor's module (`.ts` under tap's loader, `.js` from dist/). */
  readonly file: URL
  /** Its workerData, built anew for each incarnation. */
  readonly workerData: () => unknown
  /** Calls the actor makes to this side, besides `log` and `started`. */
  readonly handlers?: Record<string, Handler>
  readonly logger: Logger
  /** How the logs name it, e.g. "pipeline thread". */
  readonly name: string
  /** Logged with each restart: what the death means for the data. */
  readonly whileDown?: string
  /** Longest wait between restarts. @defaultValue 30000 */
  readonly restartCapMs?: number
  /**
   * How long close() waits for the actor's own close before it terminates the thread: a close
   * that never answers must not hold the engine's shutdown forever. @defaultValue 30000
   */
  readonly closeTimeoutMs?: number
  /** Counts the restart (a metric). */
  readonly onRestart: () => void
  /** The new incarnation started (e.g. to resend state it must know). */
  readonly onStarted?: (rpc: Rpc) => void
}

/**
 * Supervises an actor in a worker thread: spawns it, relays its log lines, restarts it with
 * back-off when it dies (the delay resets once an incarnation has started), and closes it by
 * asking first and terminating after. The pipeline and the dispatcher threads are both this.
 */
export class ThreadHost {
  private incarnation: Incarnation | null = null
  private readonly stop = new AbortController()
  private restarts = 0
  /** Resolves when the pending restart has spawned (or was given up on closing). */
  restarting: Promise<void> | null = null

  constructor(private readonly o: ThreadHostOptions) {}

  get current(): Incarnation | null {
    return this.incarnation
  }

  get closed(): boolean {
    return this.stop.signal.aborted
  }

  /** Waits for `ms`, or less when closing: for callers polling until a thread is back. */
  pause(ms: number): Promise<void> {
    return sleep(ms, this.stop.signal)
  }

  start(): void {
    if (!this.incarnation && !this.restarting && !this.closed) this.spawn()
  }

  /** Ends the thread at once, as a crash would (tests, drills): a new one follows the back-off. */
  async terminate(): Promise<void> {
    await this.incarnation?.worker.terminate()
  }

  close = onceAsync(async () => {
    this.stop.abort()
    await this.restarting
    const incarnation = this.incarnation
    if (!incarnation) return
    try {
      const timeoutMs = this.o.closeTimeoutMs ?? 30_000
      await withTimeout(incarnation.rpc.call('close'), timeoutMs, `no answer in ${timeoutMs} ms`)
    } catch (err) {
      // Already gone: terminate below is all that is left to do.
      if (!(err instanceof ChannelClosedError))
        this.o.logger.warn({ err }, `${this.o.name} did not close cleanly`)
    } finally {
      await incarnation.worker.terminate()
      await incarnation.exited
    }
  })

  private spawn(): void {
    const worker = new Worker(this.o.file, { workerData: this.o.workerData() })
    const rpc: Rpc = new Rpc(worker, {
      ...this.o.handlers,
      log: (line) => relayLog(this.o.logger, line as string),
      started: () => {
        this.restarts = 0
        incarnation.started = true
        this.o.onStarted?.(rpc)
      },
    })
    const exited = new Promise<void>((resolve) => {
      worker.once('error', (err) => this.o.logger.error({ err }, `${this.o.name} failed`))
      worker.once('exit', (code) => {
        rpc.fail()
        if (this.incarnation?.worker === worker) this.incarnation = null
        resolve()
        if (!this.closed) this.restartLater(code)
      })
    })
    const incarnation: Incarnation = { worker, rpc, exited, started: false }
    this.incarnation = incarnation
  }

  private restartLater(code: number): void {
    const delayMs = backoffDelay(this.restarts++, 500, this.o.restartCapMs ?? 30_000)
    this.o.onRestart()
    const why = this.o.whileDown ? `; ${this.o.whileDown}` : ''
    this.o.logger.error(
      { exitCode: code, attempt: this.restarts, delayMs },
      `${this.o.name} died${why}; restarting`,
    )
    this.restarting = this.pause(delayMs).then(() => {
      this.restarting = null
      if (!this.closed) this.spawn()
    })
  }
}
