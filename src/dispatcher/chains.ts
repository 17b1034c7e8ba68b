import type pg from 'pg'
import { advanceChains } from '../db/ordering.js'

/** With unlinked deliveries left after the watermark, look again this soon. */
const AGAIN_MS = 200
/** How often the orphan sweep runs (src/db/ordering.ts), the first time at start. */
const SWEEP_MS = 60_000

/**
 * This node's side of ordered delivery: it frees the successors of the ordered deliveries its
 * results finished and links new ordered deliveries into their chains, in one transaction per
 * claim under the chains' lock (src/db/ordering.ts). Nothing to do costs nothing: without
 * ordered subscriptions and finished ordered deliveries it only sweeps, once a minute.
 */
export class Chains {
  private done: string[] = []
  private wanted = true
  private sweepAt = 0

  constructor(
    private readonly pool: pg.Pool,
    /** Receipt time before which this node has stored every event it received. */
    private readonly watermark: () => Promise<number>,
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
    const sweep = Date.now() >= this.sweepAt
    if (this.done.length === 0 && !sweep && !(ordered && this.wanted)) return null
    const done = this.done
    this.done = []
    this.wanted = false
    try {
      // No watermark (the pipeline thread restarting): free what is done, link nothing yet.
      const beforeMs = await this.watermark().catch(() => 0)
      const r = await advanceChains(this.pool, { done, beforeMs, sweep })
      if (sweep) this.sweepAt = Date.now() + SWEEP_MS
      this.wanted = r.more
      return r.more ? AGAIN_MS : null
    } catch (err) {
      this.done = done.concat(this.done)
      this.wanted = true
      throw err
    }
  }
}
