import type { JournalEntry } from './types.js'

/** Estimated bytes of an entry's object, strings and Buffer beyond their contents. */
const ENTRY_OVERHEAD = 256

/** Estimated memory one entry holds: its body and strings plus a fixed overhead. */
export function entryBytes(e: JournalEntry): number {
  let n = ENTRY_OVERHEAD + e.body.byteLength + e.id.length + e.source.length + e.contentType.length
  n += e.verifiedBy?.length ?? 0
  for (const k in e.headers) n += k.length + (e.headers[k]?.length ?? 0)
  return n
}

/**
 * The entries committed most recently, kept in memory so that `readPending` answers them
 * without reading their 5 KB rows back from the file (issue 9). Main thread only.
 *
 * Contract, which makes an answer from memory equal to the SQLite query: every row of the
 * entries table with seq > `from` is held here, except the rows of a commit whose result has
 * not reached the journal yet (the commit still running); those have higher seqs than any held entry
 * and are added when the result arrives. The journal removes entries once their mark returned
 * (the rows are gone). Evicting the oldest entry raises `from` to its seq, so from then on that
 * part of the range is read from the file. When the journal no longer knows what the file holds
 * (a commit or a mark failed, an I/O fault was recovered) it calls `reset` with the highest
 * seq in the file, and starts over from there.
 */
export class EntryWindow {
  /** Rows with seq <= from may be in the file but not here; see the class comment. */
  from: number
  /** Ascending; a marked entry's slot keeps its seq (and a null entry) so both stay searchable. */
  private seqs: number[] = []
  private slots: Array<JournalEntry | null> = []
  /** Slots before head are all empty. */
  private head = 0
  private live = 0
  private heldBytes = 0

  constructor(
    private readonly maxBytes: number,
    from: number,
  ) {
    this.from = from
  }

  /** Estimated bytes held; never above maxBytes after `add` returned. */
  get bytes(): number {
    return this.heldBytes
  }

  get size(): number {
    return this.live
  }

  /** Entries of one successful commit, in seq order. */
  add(entries: readonly JournalEntry[]): void {
    for (const e of entries) {
      // Already covered by the file: a reset read the highest seq after this commit landed.
      if (e.seq <= this.from) continue
      const last = this.seqs.at(-1)
      if (last !== undefined && e.seq <= last) {
        // Seqs come from AUTOINCREMENT and so only grow; should one not, stop trusting the
        // window rather than answer out of order.
        this.reset(last)
        continue
      }
      this.seqs.push(e.seq)
      this.slots.push(e)
      this.live++
      this.heldBytes += entryBytes(e)
    }
    while (this.heldBytes > this.maxBytes && this.live > 0) this.evictOldest()
  }

  /** Entries whose mark returned: their rows are deleted. Seqs not held are ignored. */
  remove(seqs: readonly number[]): void {
    for (const seq of seqs) {
      if (seq <= this.from) continue
      const i = this.indexAfter(seq - 1)
      const e = this.slots[i]
      if (this.seqs[i] !== seq || !e) continue
      this.slots[i] = null
      this.live--
      this.heldBytes -= entryBytes(e)
    }
    this.trim()
  }

  /** Forget every entry: the file holds nothing above `from` that a read could miss. */
  reset(from: number): void {
    this.from = from
    this.seqs = []
    this.slots = []
    this.head = 0
    this.live = 0
    this.heldBytes = 0
  }

  /** Appends to `out` the held entries with seq > afterSeq, in order, until it has `limit`. */
  read(afterSeq: number, limit: number, out: JournalEntry[]): void {
    for (let i = this.indexAfter(afterSeq); i < this.slots.length && out.length < limit; i++) {
      const e = this.slots[i]
      if (e) out.push(e)
    }
  }

  private evictOldest(): void {
    const e = this.slots[this.head]
    if (e) {
      this.from = e.seq
      this.slots[this.head] = null
      this.live--
      this.heldBytes -= entryBytes(e)
    }
    this.head++
    this.trim()
  }

  /** The first slot at or after head whose seq is > afterSeq (slots.length when none). */
  private indexAfter(afterSeq: number): number {
    let lo = this.head
    let hi = this.seqs.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (this.seqs[mid]! <= afterSeq) lo = mid + 1
      else hi = mid
    }
    return lo
  }

  /**
   * Skip leading empty slots; drop the empty ones once they outnumber the live entries (marks
   * out of seq order, or an entry never confirmed while later ones are), and the empty prefix
   * once it is longer than the rest, so the arrays stay within about twice the entries held.
   */
  private trim(): void {
    while (this.head < this.slots.length && !this.slots[this.head]) this.head++
    const span = this.slots.length - this.head
    if (span > 2 * this.live + 1024) {
      const seqs: number[] = []
      const slots: JournalEntry[] = []
      for (let i = this.head; i < this.slots.length; i++) {
        const e = this.slots[i]
        if (e) {
          seqs.push(e.seq)
          slots.push(e)
        }
      }
      this.seqs = seqs
      this.slots = slots
      this.head = 0
    } else if (this.head >= 1024 && this.head >= span) {
      this.seqs = this.seqs.slice(this.head)
      this.slots = this.slots.slice(this.head)
      this.head = 0
    }
  }
}
