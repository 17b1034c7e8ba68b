import { setTimeout as sleep } from 'node:timers/promises'
import type { NewEvent } from './types.js'
import { followsLast } from './receipt-time.js'
import type { CommitResult } from './writer.js'

interface Waiter {
  event: NewEvent
  resolve: (r: { seq: number; receivedAt: number }) => void
  reject: (err: Error) => void
}

export type CommitFn = (events: readonly NewEvent[]) => Promise<CommitResult>

/**
 * Group commit: at most one commit runs at a time; appends that arrive while it runs wait in
 * `queue` and all go into the next commit. A waiter is resolved only after the commit that
 * holds it returned. The first commit after an idle period is deferred with setImmediate so
 * that all requests parsed in the same I/O phase share it.
 */
export class GroupCommitter {
  private queue: Waiter[] = []
  private running = false
  private scheduled = false
  private idleWaiters: Array<() => void> = []
  /** When the commit under way started (its events' receivedAt is this or later); null: none. */
  committingSince: number | null = null
  /** receivedAt of the last commit that succeeded. */
  private lastReceivedAt = 0

  constructor(
    private readonly commitFn: CommitFn,
    private readonly onCommit: (events: number, seconds: number) => void = () => {},
    private readonly maxBatch = 1000,
  ) {}

  /** Appends waiting for or inside a commit. */
  get inFlight(): number {
    return this.queue.length + (this.running ? 1 : 0)
  }

  add(event: NewEvent): Promise<{ seq: number; receivedAt: number }> {
    return new Promise((resolve, reject) => {
      this.queue.push({ event, resolve, reject })
      this.schedule()
    })
  }

  /** Resolves once nothing is queued and no commit runs. */
  idle(): Promise<void> {
    if (!this.running && this.queue.length === 0) return Promise.resolve()
    return new Promise((resolve) => this.idleWaiters.push(resolve))
  }

  private schedule(): void {
    if (this.running || this.scheduled) return
    this.scheduled = true
    setImmediate(() => {
      this.scheduled = false
      void this.run()
    })
  }

  private async run(): Promise<void> {
    if (this.running) return
    this.running = true
    while (this.queue.length > 0) {
      // Not in the millisecond of the last commit's receivedAt: each commit's is later than
      // the one before (receipt-time.ts), so two events of a key posted one
      // after the other's 200 never share a receipt time. A millisecond, only when commits come
      // faster than that (appends arriving meanwhile join this commit); a few after a small
      // step back of the clock; never longer (a larger step is taken as it is).
      while (followsLast(Date.now(), this.lastReceivedAt)) await sleep(1)
      const batch = this.queue.splice(0, this.maxBatch)
      const started = performance.now()
      this.committingSince = Date.now()
      try {
        const r = await this.commitFn(batch.map((w) => w.event))
        // A seq per event, in order, or nothing is known about which events are on disk:
        // the whole batch fails (503, the client retries; the event id dedupes any copy).
        if (r.seqs.length !== batch.length)
          throw new Error(
            `journal commit of ${batch.length} events answered ${r.seqs.length} sequence numbers`,
          )
        this.lastReceivedAt = r.receivedAt
        this.onCommit(batch.length, (performance.now() - started) / 1000)
        batch.forEach((w, i) => w.resolve({ seq: r.seqs[i]!, receivedAt: r.receivedAt }))
      } catch (err) {
        for (const w of batch) w.reject(err as Error)
      }
    }
    this.running = false
    this.committingSince = null
    const waiters = this.idleWaiters
    this.idleWaiters = []
    for (const w of waiters) w()
  }
}
