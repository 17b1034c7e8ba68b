/**
 * The last answer of a call to another thread, kept per asker (one incarnation of that thread):
 * a call that fails, such as a thread too busy to answer in time, gets the previous answer of
 * the same incarnation instead of nothing. Counters read that way never look like a reset; a
 * new incarnation, whose counters did start again, gets no answer of the one before.
 */
export class LastAnswer<T> {
  private last: { from: unknown; value: T; at: number } | null = null

  /**
   * `onLate` runs each time a previous answer stands in for a failed call. `maxAgeMs` bounds how
   * old that answer may be: a state (healthy or not) must not outlive a thread that hangs, while
   * counters may stand in for ever.
   */
  constructor(
    private readonly onLate: () => void = () => {},
    private readonly maxAgeMs = Infinity,
    private readonly now: () => number = Date.now,
  ) {}

  async of(from: unknown, ask: () => Promise<T>): Promise<T> {
    try {
      const value = await ask()
      this.last = { from, value, at: this.now() }
      return value
    } catch (err) {
      if (!this.last || this.last.from !== from) throw err
      if (this.now() - this.last.at > this.maxAgeMs) throw err
      this.onLate()
      return this.last.value
    }
  }
}
