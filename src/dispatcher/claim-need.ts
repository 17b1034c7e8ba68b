/**
 * Whether a claim could find anything, so the dispatcher does not ask Postgres after every
 * result write. When the store statement leases first attempts (first-leases.ts), most claims
 * after a write found nothing: the write freed room, but nothing was waiting for it.
 *
 * A claim is worth running when something may have become due that no claim has looked for
 * since (`maybeDue`: a store that left deliveries unleased, a NOTIFY, a due time, leases given
 * back, a changed subscription, a claim cut by its limit), or when written results free room of
 * a subscription whose last claim may have left due deliveries behind (its cap was reached, or
 * it had no room then). Anything else a claim could find would be due by time (a retry, another
 * node's lease ending, a lane's rate), which the dispatcher's timer covers as before.
 */
export class ClaimNeed {
  private anything = true
  private waiting = new Set<string>()
  /** A claim is between its start and its answer: a write now frees room it may not have seen. */
  private inClaim = false

  /** Something may be due that no claim has looked for. */
  maybeDue(): void {
    this.anything = true
  }

  /** A claim starts and looks for everything due; what happens meanwhile sets it again. */
  claiming(): void {
    this.anything = false
    this.inClaim = true
  }

  /**
   * What the claim may have left: `more`, the subscriptions whose cap it reached; `roomless`,
   * those it did not ask for; `cut`, true when its limit stopped it or it gave some back.
   */
  claimed(more: ReadonlySet<string>, roomless: readonly string[], cut: boolean): void {
    this.inClaim = false
    const waiting = new Set(more)
    for (const id of roomless) waiting.add(id)
    this.waiting = waiting
    if (cut) this.anything = true
  }

  /** Due deliveries of these subscriptions wait now (a claim cut short, leases given back). */
  left(subscriptionIds: Iterable<string>): void {
    for (const id of subscriptionIds) this.waiting.add(id)
  }

  /** The claim failed: whatever it was to find may still be due. */
  failed(): void {
    this.inClaim = false
    this.anything = true
  }

  /**
   * Whether the last claim may have left due deliveries of this subscription waiting for its
   * room. Its room is then not offered to the store statement: new deliveries leased there
   * would overtake those, which the claim takes oldest first.
   */
  waits(subscriptionId: string): boolean {
    return this.waiting.has(subscriptionId)
  }

  /** Results of these subscriptions were written (their leases freed): is a claim worth it? */
  afterWritten(subscriptions: Iterable<string>, released: number): boolean {
    if (this.anything || this.inClaim || released > 0) return true
    for (const id of subscriptions) if (this.waiting.has(id)) return true
    return false
  }
}
