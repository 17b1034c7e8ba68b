import type pg from 'pg'
import { advanceChains, sweepOrphans } from '../db/ordering.js'

/** With unlinked deliveries left after the watermark, look again this soon. */
const AGAIN_MS = 200
/** How often the orphan sweep runs (src/db/ordering.ts), the first time at start. */
const SWEEP_MS = 5 * 60_000

/**
 * This node's side of ordered delivery: before a claim it frees the successors of the ordered
 * deliveries its results finished and links new ordered deliveries into their chains, in one
 * transaction under the chains' lock (src/db/ordering.ts); now and then, beside the claims, it
 * sweeps for orphans. Nothing to do costs nothing: without ordered subscriptions and finished
 * ordered deliveries it takes no lock.
 */
export class Chains {
  private done: string[] = []
  private wanted = true
  private sweepAt = 0
  private sweeping: Promise<void> | null = null

  constructor(
    private readonly pool: pg.Pool,
    /** Receipt time before which this node has stored every event it received. */
    private readonly watermark: () => Promise<number>,
    private readonly sweepFailed: (err: unknown) => void,
  ) {}

  /** Ordered deliveries whose result is written: their successors may go. */
  released(ids: readonly string[]): void {
    if (ids.length > 0) this.done.push(...ids)
  }

  /** New deliveries may have been stored: some may wait to be linked. */
  touched(): void {
    this.wanted = true
  }

  /** Frees and links what is due; resolves with when to look again (ms), or null. */
  async advance(ordered: boolean): Promise<number | null> {
    this.sweepSoon()
    if (this.done.length === 0 && !(ordered && this.wanted)) return null
    const done = this.done
    this.done = []
    this.wanted = false
    try {
      // No watermark (the pipeline thread restarting): free what is done, link nothing yet.
      const beforeMs = await this.watermark().catch(() => 0)
      const r = await advanceChains(this.pool, { done, beforeMs })
      // A touch while it ran (new deliveries stored meanwhile) stands.
      this.wanted ||= r.more
      return r.more ? AGAIN_MS : null
    } catch (err) {
      this.done = done.concat(this.done)
      this.wanted = true
      throw err
    }
  }

  /** Waits for a sweep under way. */
  async close(): Promise<void> {
    this.sweepAt = Infinity
    await this.sweeping
  }

  private sweepSoon(): void {
    if (this.sweeping || Date.now() < this.sweepAt) return
    this.sweepAt = Date.now() + SWEEP_MS
    this.sweeping = sweepOrphans(this.pool)
      .then(
        () => undefined,
        (err: unknown) => this.sweepFailed(err),
      )
      .finally(() => (this.sweeping = null))
  }
}
