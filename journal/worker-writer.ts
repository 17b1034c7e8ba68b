import { Worker } from 'node:worker_threads'
import { backoffDelay } from '../src/util/backoff.js'
import { packBatch } from './codec.js'
import type {
  CommitResult,
  JournalWriter,
  WriterHealth,
  WriterRestart,
  WriterSpec,
} from './writer.js'
import type { WriterReply, WriterRequest } from './worker-protocol.js'
import type { NewEvent } from './types.js'

// Under tap the sources are .ts and the worker inherits tap's loader through execArgv; from
// dist/ they are .js. Resolve the worker file next to this module either way.
const workerFile = new URL(
  import.meta.url.endsWith('.ts') ? './writer-worker.ts' : './writer-worker.js',
  import.meta.url,
)

/** Back-off between restarts of a dead writer thread: 50-100 ms first, at most 5 s. */
const RESTART_BASE_MS = 100
const RESTART_CAP_MS = 5000

type Pending = { resolve: (r: WriterReply & { ok: true }) => void; reject: (e: Error) => void }

/** Thrown for operations that failed inside the writer thread, or because it died. */
export class WriterError extends Error {
  override name = 'WriterError'
  code?: string
}

export interface RestartPolicy {
  /** Restarts that may fail in a row before the writer is `failed`; 0 never restarts. */
  attempts: number
  /** Called when a restart is scheduled, and once more (delayMs null) when giving up. */
  onRestart: (r: WriterRestart) => void
  /** Called when a new thread has the journal open, before any operation reaches it. */
  onRestarted: () => void
}

const NEVER_RESTART: RestartPolicy = { attempts: 0, onRestart: () => {}, onRestarted: () => {} }

/**
 * Writer actor on a dedicated worker thread: the HTTP thread never blocks on fsync. Each
 * request is one message; the body bytes of a commit travel in one transferred ArrayBuffer.
 *
 * Contract when the thread dies while the writer is open: every request it had not answered
 * is rejected at once with a WriterError (a commit among them may or may not have reached the
 * file, but none was answered as committed), requests made while `restarting` are rejected at
 * once too (fail fast, no queueing), and a new thread opens the same file after a capped
 * back-off (SQLite's WAL keeps every committed transaction, drops the unfinished one). A
 * restart has failed when the new thread cannot open the journal, or dies before it answered
 * one request; after `attempts` failures in a row the writer is `failed` for good.
 */
export class WorkerWriter implements JournalWriter {
  private worker: Worker | null = null
  private next = 1
  private readonly pending = new Map<number, Pending>()
  private closing: Promise<void> | null = null
  private state: WriterHealth = 'running'
  /** What requests are rejected with while not running. */
  private failure: Error | null = null
  /** Restarts failed in a row; reset by the first request a thread answers. */
  private failedRestarts = 0
  /** The current thread was started by a restart and has not answered a request yet. */
  private unproven = false
  private restartTimer: NodeJS.Timeout | null = null
  private respawning: Promise<void> | null = null

  constructor(
    private readonly spec: WriterSpec,
    private readonly restart: RestartPolicy = NEVER_RESTART,
  ) {}

  get health(): WriterHealth {
    return this.state
  }

  start(): Promise<void> {
    return this.spawn()
  }

  async commit(events: readonly NewEvent[]): Promise<CommitResult> {
    const batch = packBatch(events)
    const r = await this.request({ n: 0, op: 'commit', batch }, [batch.bodies])
    if (!r.result) throw new WriterError('journal writer replied without a commit result')
    return r.result
  }

  async markForwarded(seqs: readonly number[]): Promise<number> {
    const r = await this.request({ n: 0, op: 'mark', seqs: [...seqs] })
    return r.deleted ?? 0
  }

  async compact(): Promise<void> {
    await this.request({ n: 0, op: 'compact' })
  }

  async recover(): Promise<void> {
    await this.request({ n: 0, op: 'recover' })
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      if (this.restartTimer) clearTimeout(this.restartTimer)
      this.restartTimer = null
      await this.respawning
      const worker = this.worker
      if (!worker) return
      const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()))
      try {
        await this.request({ n: 0, op: 'close' })
      } catch {
        // The worker is gone or failed; terminate below makes sure no thread is left.
      }
      await worker.terminate()
      await exited
    })()
    return this.closing
  }

  /**
   * Start a thread; resolves once it opened the journal. Rejects, after the thread exited, when
   * it could not. Once ready, its death is handled by `lost`.
   */
  private spawn(): Promise<void> {
    return new Promise((resolve, reject) => {
      const worker = new Worker(workerFile, { workerData: this.spec })
      let ready = false
      let cause: Error | undefined
      worker.on('message', (r: WriterReply) => {
        if (ready) return this.settle(r)
        if (r.n !== 0) return
        if (r.ok) {
          ready = true
          this.worker = worker
          resolve()
        } else {
          // The thread exits next; reject once it is gone, so no two threads hold the file.
          const err = new WriterError(r.message)
          if (r.code) err.code = r.code
          cause = err
        }
      })
      worker.on('error', (err) => {
        const e = new WriterError('journal writer thread failed', { cause: err })
        if (ready) this.lost(e)
        else cause ??= e
      })
      worker.on('exit', (code) => {
        if (!ready) {
          reject(cause ?? new WriterError(`journal writer thread exited with code ${code}`))
          return
        }
        if (this.worker === worker) this.worker = null
        this.lost(new WriterError(`journal writer thread exited with code ${code}`))
        if (!this.closing) this.scheduleRestart()
      })
    })
  }

  /** The ready thread died (an 'error' is followed by an 'exit'): fail what it had not answered. */
  private lost(err: Error): void {
    if (this.state === 'running') {
      this.failure = err
      if (!this.closing) this.state = 'restarting'
    }
    const failure = this.failure ?? err
    for (const p of this.pending.values()) p.reject(failure)
    this.pending.clear()
  }

  private scheduleRestart(): void {
    if (this.state === 'failed') return
    const cause = this.failure ?? new WriterError('journal writer thread died')
    if (this.unproven) this.failedRestarts++
    if (this.failedRestarts >= this.restart.attempts) return this.giveUp(cause)
    const delayMs = backoffDelay(this.failedRestarts, RESTART_BASE_MS, RESTART_CAP_MS)
    this.restart.onRestart({ cause, attempt: this.failedRestarts + 1, delayMs })
    this.restartTimer = setTimeout(() => {
      this.restartTimer = null
      this.respawning = this.spawn().then(
        () => {
          this.respawning = null
          this.unproven = true
          this.failure = null
          this.state = 'running'
          // When closing, close() closes this thread next; the journal is being closed too.
          if (!this.closing) this.restart.onRestarted()
        },
        (err: unknown) => {
          this.respawning = null
          if (this.closing) return
          this.failedRestarts++
          this.failure = new WriterError('journal writer thread could not be restarted', {
            cause: err,
          })
          this.unproven = false
          this.scheduleRestart()
        },
      )
    }, delayMs)
    this.restartTimer.unref()
  }

  private giveUp(cause: Error): void {
    this.state = 'failed'
    this.failure = cause
    this.restart.onRestart({ cause, attempt: this.failedRestarts, delayMs: null })
  }

  private request(
    req: WriterRequest,
    transfer: ArrayBuffer[] = [],
  ): Promise<WriterReply & { ok: true }> {
    if (this.state !== 'running' && this.failure) return Promise.reject(this.failure)
    const worker = this.worker
    if (!worker) return Promise.reject(new WriterError('journal writer is not running'))
    const n = this.next++
    return new Promise((resolve, reject) => {
      this.pending.set(n, { resolve, reject })
      worker.postMessage({ ...req, n }, transfer)
    })
  }

  private settle(r: WriterReply): void {
    const p = this.pending.get(r.n)
    if (!p) return
    this.pending.delete(r.n)
    if (r.ok) {
      this.unproven = false
      this.failedRestarts = 0
      p.resolve(r)
    } else {
      const err = new WriterError(r.message)
      if (r.code) err.code = r.code
      p.reject(err)
    }
  }
}
