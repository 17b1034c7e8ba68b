import { Worker } from 'node:worker_threads'

// Same resolution rule as the writer worker: .ts under tap's loader, .js from dist/.
const workerFile = new URL(
  import.meta.url.endsWith('.ts') ? './checkpoint-worker.ts' : './checkpoint-worker.js',
  import.meta.url,
)

/** Runs PASSIVE WAL checkpoints on its own thread every `intervalMs`. */
export class Checkpointer {
  private worker: Worker | null = null
  private closing: Promise<void> | null = null

  constructor(
    private readonly path: string,
    private readonly intervalMs: number,
  ) {}

  start(): void {
    const worker = new Worker(workerFile, {
      workerData: { path: this.path, intervalMs: this.intervalMs },
    })
    // A checkpointer failure only costs latency (the writer's auto-checkpoint takes over).
    worker.on('error', () => {})
    worker.unref()
    this.worker = worker
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      const worker = this.worker
      if (!worker) return
      const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()))
      worker.postMessage('close')
      const timer = setTimeout(() => void worker.terminate(), 5000)
      await exited
      clearTimeout(timer)
    })()
    return this.closing
  }
}
