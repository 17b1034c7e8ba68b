import type pg from 'pg'
import { recordResults, type DeliveryResult, type RecordOutcome } from '../db/delivery-results.js'
import type { Logger } from '../log.js'
import type { FlowOptions } from '../outbound/flow-options.js'
import { backoffDelay, sleep } from '../util/backoff.js'

export interface ResultWriterOptions {
  readonly pool: pg.Pool
  readonly owner: string
  readonly node: string
  readonly disableAfterHours: number
  readonly flow?: FlowOptions
  /** Results in one statement at most. @defaultValue 500 */
  readonly maxBatch?: number
  readonly logger?: Logger | undefined
  /** After each write: what was recorded (and what was stale) and what got disabled. */
  readonly onWritten: (batch: readonly DeliveryResult[], outcome: RecordOutcome) => void
  /** A write failed (it is retried); shown in /readyz until the next write succeeds. */
  readonly onFailed?: (err: unknown) => void
}

/**
 * Writes attempt results in batches: one write at a time, and whatever finished meanwhile goes
 * into the next one, so the batch grows with the rate and a result waits at most one write.
 * A failed write is retried with back-off; results are kept meanwhile (their leases may pass
 * to another node, whose result then wins: the lease check in the statement decides).
 */
export class ResultWriter {
  private queue: DeliveryResult[] = []
  private writing: Promise<void> | null = null
  private readonly stop = new AbortController()

  constructor(private readonly options: ResultWriterOptions) {}

  get pending(): number {
    return this.queue.length
  }

  /** Ids waiting to be written (still leased to this node). */
  ids(): string[] {
    return this.queue.map((r) => r.id)
  }

  push(result: DeliveryResult): void {
    this.queue.push(result)
    this.kick()
  }

  /** Resolves when everything pushed so far is written, or when closing gives up on it. */
  async flushed(): Promise<void> {
    while (this.writing) await this.writing
  }

  /** Stop retrying after the current write: what is left keeps its lease until it expires. */
  close(): void {
    this.stop.abort()
  }

  private kick(): void {
    if (this.writing || this.stop.signal.aborted) return
    this.writing = this.drain().finally(() => {
      this.writing = null
      // A result pushed between the drain's last look and here would otherwise wait.
      if (this.queue.length > 0) this.kick()
    })
  }

  private async drain(): Promise<void> {
    for (let failures = 0; this.queue.length > 0;) {
      const max = this.options.maxBatch ?? 500
      const batch = this.queue.slice(0, max)
      try {
        const outcome = await recordResults(
          this.options.pool,
          this.options.owner,
          this.options.node,
          batch,
          this.options.disableAfterHours,
          this.options.flow,
        )
        this.queue = this.queue.slice(batch.length)
        failures = 0
        this.options.onWritten(batch, outcome)
      } catch (err) {
        if (this.stop.signal.aborted) return
        const code = (err as { code?: string }).code
        // A deadlock with another node's write on the same subscription rows resolves by retrying.
        if (!code?.startsWith('40')) {
          this.options.logger?.warn({ err }, 'recording results failed')
          this.options.onFailed?.(err)
        }
        await sleep(backoffDelay(failures++, 100, 10_000), this.stop.signal)
        if (this.stop.signal.aborted) return
      }
    }
  }
}
