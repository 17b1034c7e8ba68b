import { Worker } from 'node:worker_threads'
import { relayLog, type Logger } from '../log.js'
import { backoffDelay, sleep } from '../util/backoff.js'
import { onceAsync } from '../util/once.js'
import { withTimeout } from '../util/timeout.js'
import { ChannelClosedError, Rpc, type Remote } from './rpc.js'
import { pathProxy } from './rpc-types.js'

/** How long a thread whose close answered may take to exit before it is terminated. */
const EXIT_GRACE_MS = 2000

/** What every actor serves: its own close (it ends its work; the thread then exits). */
export interface ActorApi {
  close(): unknown
}

/** What every host serves its actor, besides the options' `serve`. */
export interface HostApi {
  /** A log line of the thread (src/log.ts threadLogger), written by the host's logger. */
  log(line: string): void
  /** The actor is set up and answers calls. */
  started(): void
}

/** One incarnation of a supervised thread. */
export interface Incarnation<A extends ActorApi> {
  readonly worker: Worker
  readonly rpc: Rpc<A>
  readonly exited: Promise<void>
  /** The actor cast `started`: it is set up and answers calls. */
  started: boolean
}

export interface ThreadHostOptions<A extends ActorApi> {
  /** The actor's module (`.ts` under tap's loader, `.js` from dist/). */
  readonly file: URL
  /** Its workerData, built anew for each incarnation. */
  readonly workerData: () => unknown
  /** The methods the actor calls on this side, besides HostApi's. */
  readonly serve?: object
  /** Writes the thread's log lines and its deaths. */
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
  /** The thread does not keep the process alive (a helper such as the checkpointer). */
  readonly unref?: boolean
  /** Counts the restart (a metric). */
  readonly onRestart?: () => void
  /** The new incarnation started (e.g. to resend state it must know). */
  readonly onStarted?: (rpc: Rpc<A>) => void
  /** The thread ended without close(); `started` says whether it had cast `started`. */
  readonly onDied?: (exitCode: number, started: boolean) => void
  /** What `remote` rejects with while no started thread can answer. */
  readonly unavailable?: () => Error
}

/**
 * Supervises every worker thread Sluice starts (pipeline, dispatcher, journal checkpointer,
 * embedded database): spawns it, serves its calls, relays its log lines, restarts it with the
 * engine's back-off when it dies (the delay resets once an incarnation has started), and closes
 * it one way: the actor's `close()`, then wait for the exit, terminate after a timeout.
 */
export class ThreadHost<A extends ActorApi> {
  private incarnation: Incarnation<A> | null = null
  private readonly stop = new AbortController()
  private restarts = 0
  /** Resolves when the pending restart has spawned (or was given up on closing). */
  restarting: Promise<void> | null = null
  /** The started actor's methods; they reject with `unavailable` while there is none. */
  readonly remote: Remote<A> = pathProxy((path, args) => {
    const incarnation = this.incarnation
    if (!incarnation?.started) {
      const error =
        this.o.unavailable?.() ?? new ChannelClosedError(`${this.o.name} is not running`)
      return Promise.reject(error)
    }
    let target: unknown = incarnation.rpc.remote
    for (const key of path) target = (target as Record<string, unknown>)[key]
    return (target as (...a: unknown[]) => Promise<unknown>)(...args)
  })

  constructor(private readonly o: ThreadHostOptions<A>) {}

  get current(): Incarnation<A> | null {
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

  /** Ends the thread at once and for good, without asking it (e.g. a start being abandoned). */
  async abandon(): Promise<void> {
    this.stop.abort()
    await this.terminate()
    await this.close()
  }

  close = onceAsync(async () => {
    this.stop.abort()
    await this.restarting
    const incarnation = this.incarnation
    if (!incarnation) return
    // An unref'd thread (the checkpointer) must keep the process alive until it has ended:
    // otherwise a process with nothing else to do exits in the middle of its close.
    incarnation.worker.ref()
    try {
      const timeoutMs = this.o.closeTimeoutMs ?? 30_000
      // Its close, then its exit: a thread that ends its own loop leaves nothing half done. Once
      // its close has answered, a handle it forgot may hold the exit up only briefly.
      const closing = (async () => {
        await (incarnation.rpc.remote as Remote<ActorApi>).close()
        await withTimeout(incarnation.exited, EXIT_GRACE_MS, 'exit').catch(() => undefined)
      })()
      await withTimeout(closing, timeoutMs, `not ended ${timeoutMs} ms after close`)
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
    if (this.o.unref) worker.unref()
    const host: HostApi = {
      log: (line) => relayLog(this.o.logger, line),
      started: () => {
        this.restarts = 0
        incarnation.started = true
        this.o.onStarted?.(rpc)
      },
    }
    // The built-ins first, then the caller's methods (own or prototype) behind them.
    const rpc = new Rpc<A>(worker, Object.assign(Object.create(this.o.serve ?? {}) as object, host))
    const exited = new Promise<void>((resolve) => {
      worker.once('error', (err) => this.o.logger.error({ err }, `${this.o.name} failed`))
      worker.once('exit', (code) => {
        rpc.fail()
        if (this.incarnation?.worker === worker) this.incarnation = null
        resolve()
        if (this.closed) return
        this.o.onDied?.(code, incarnation.started)
        if (!this.closed) this.restartLater(code)
      })
    })
    const incarnation: Incarnation<A> = { worker, rpc, exited, started: false }
    this.incarnation = incarnation
  }

  private restartLater(code: number): void {
    const delayMs = backoffDelay(this.restarts++, 500, this.o.restartCapMs ?? 30_000)
    this.o.onRestart?.()
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
