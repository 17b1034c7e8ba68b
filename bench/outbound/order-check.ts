/**
 * Ordered delivery seen from the receivers' side ((d) of the outbound section). Per receiver
 * (one ordered subscription each) and key, two rules:
 *
 * - **one at a time**: a delivery of a key does not arrive while another delivery of that key
 *   has arrived there and not been answered yet;
 * - **receipt order**: a delivery does not arrive before every earlier event of its key has been
 *   answered there. "Earlier" only where the runner knows the engine's receipt order: the other
 *   event's POST got its 200 before this one's POST was sent.
 *
 * An arrival breaking either is one violation. A repeat of an event the receiver already had
 * (at least once) is not checked again. Times are the runner's performance.now().
 */
export interface OrderReport {
  /** Arrivals checked: the first arrival of each posted event at each receiver. */
  checked: number
  /**
   * Arrivals in order that had to wait: an earlier event of their key was still unanswered there
   * when their POST got its 200 (so the chain held them).
   */
  held: number
  /** Arrivals breaking one at a time. */
  overlaps: number
  /** Arrivals breaking receipt order. */
  outOfOrder: number
  /** Arrivals breaking either rule. */
  violations: number
}

interface Tracked {
  seq: number
  key: number
  postAt: number
  ackAt: number | null
  /** Receiver -> when the delivery arrived there, and when it was answered. */
  arrived: Map<number, number>
  answered: Map<number, number>
}

export class OrderCheck {
  private readonly events = new Map<number, Tracked>()
  /** Events of each key, in posting order. */
  private readonly byKey = new Map<number, Tracked[]>()
  private readonly r: OrderReport = {
    checked: 0,
    held: 0,
    overlaps: 0,
    outOfOrder: 0,
    violations: 0,
  }

  constructor(private readonly keyOf: (seq: number) => number) {}

  posted(seq: number, at: number): void {
    const e: Tracked = {
      seq,
      key: this.keyOf(seq),
      postAt: at,
      ackAt: null,
      arrived: new Map(),
      answered: new Map(),
    }
    this.events.set(seq, e)
    const list = this.byKey.get(e.key)
    if (list) list.push(e)
    else this.byKey.set(e.key, [e])
  }

  acked(seq: number, at: number): void {
    const e = this.events.get(seq)
    if (e) e.ackAt = at
  }

  arrived(receiver: number, seq: number, at: number): void {
    const e = this.events.get(seq)
    if (!e || e.arrived.has(receiver)) return
    e.arrived.set(receiver, at)
    // A delivery may arrive before the runner has read its POST's 200.
    const ackAt = e.ackAt ?? at
    this.r.checked++
    let overlap = false
    let early = false
    let held = false
    for (const o of this.byKey.get(e.key) ?? []) {
      if (o === e) continue
      const answeredAt = o.answered.get(receiver)
      if (o.arrived.has(receiver) && answeredAt === undefined) overlap = true
      const before = o.ackAt !== null && o.ackAt < e.postAt
      if (!before) continue
      if (answeredAt === undefined) early = true
      if (answeredAt === undefined || answeredAt > ackAt) held = true
    }
    if (held && !early) this.r.held++
    if (overlap) this.r.overlaps++
    if (early) this.r.outOfOrder++
    if (overlap || early) this.r.violations++
  }

  answered(receiver: number, seq: number, at: number): void {
    const e = this.events.get(seq)
    if (e && !e.answered.has(receiver)) e.answered.set(receiver, at)
  }

  report(): OrderReport {
    return { ...this.r }
  }
}
