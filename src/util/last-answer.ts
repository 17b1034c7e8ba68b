/**
 * The last answer of a call to another thread, kept per asker (one incarnation of that thread):
 * a call that fails, such as a thread too busy to answer in time, gets the previous answer of
 * the same incarnation instead of nothing. Counters read that way never look like a reset; a
 * new incarnation, whose counters did start again, gets no answer of the one before.
 */
export class LastAnswer<T> {
  private last: { from: unknown; value: T } | null = null

  /** `onLate` runs each time a previous answer stands in for a failed call. */
  constructor(private readonly onLate: () => void = () => {}) {}

  async of(from: unknown, ask: () => Promise<T>): Promise<T> {
    try {
      const value = await ask()
      this.last = { from, value }
      return value
    } catch (err) {
      if (!this.last || this.last.from !== from) throw err
      this.onLate()
      return this.last.value
    }
  }
}
