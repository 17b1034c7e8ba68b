import { Worker } from 'node:worker_threads'
import { packBatch } from './codec.js'
import type { CommitResult, JournalWriter, WriterSpec } from './writer.js'
import type { WriterReply, WriterRequest } from './worker-protocol.js'
import type { NewEvent } from './types.js'

// Under tap the sources are .ts and the worker inherits tap's loader through execArgv; from
// dist/ they are .js. Resolve the worker file next to this module either way.
const workerFile = new URL(
  import.meta.url.endsWith('.ts') ? './writer-worker.ts' : './writer-worker.js',
  import.meta.url,
)

type Pending = { resolve: (r: WriterReply & { ok: true }) => void; reject: (e: Error) => void }

/** Thrown for operations that failed inside the writer thread. */
export class WriterError extends Error {
  override name = 'WriterError'
  code?: string
}

/**
 * Writer actor on a dedicated worker thread: the HTTP thread never blocks on fsync. Each
 * request is one message; the body bytes of a commit travel in one transferred ArrayBuffer.
 */
export class WorkerWriter implements JournalWriter {
  private worker: Worker | null = null
  private next = 1
  private readonly pending = new Map<number, Pending>()
  private closing: Promise<void> | null = null
  private failure: Error | null = null

  constructor(private readonly spec: WriterSpec) {}

  get failed(): boolean {
    return this.failure !== null && this.closing === null
  }

  start(): Promise<void> {
    return new Promise((resolve, reject) => {
      const worker = new Worker(workerFile, { workerData: this.spec })
      this.worker = worker
      this.pending.set(0, { resolve: () => resolve(), reject })
      worker.on('message', (r: WriterReply) => this.settle(r))
      worker.on('error', (err) =>
        this.fail(new WriterError('journal writer thread failed', { cause: err })),
      )
      worker.on('exit', (code) => {
        this.worker = null
        this.fail(new WriterError(`journal writer thread exited with code ${code}`))
      })
    })
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

  close(): Promise<void> {
    this.closing ??= (async () => {
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

  private request(
    req: WriterRequest,
    transfer: ArrayBuffer[] = [],
  ): Promise<WriterReply & { ok: true }> {
    if (this.failure) return Promise.reject(this.failure)
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
    if (r.ok) p.resolve(r)
    else {
      const err = new WriterError(r.message)
      if (r.code) err.code = r.code
      p.reject(err)
    }
  }

  private fail(err: Error): void {
    this.failure ??= err
    for (const p of this.pending.values()) p.reject(err)
    this.pending.clear()
  }
}
