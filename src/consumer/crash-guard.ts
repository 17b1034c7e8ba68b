import type { EventKey, EventResult, StorableEvent } from '../event.js'

/**
 * Remembers, across a death of the engine, which event it was storing alone. A message
 * delivered more often than the attempt limit without being settled means the engine (or its
 * pipeline thread) died each time it held it: a crash loop. Rather than dead-letter every event
 * of that message unprocessed, the consumer stores them one at a time, each run announced with
 * begin() (committed first) and closed with end(). A run that was begun and never ended names
 * the event the engine died on: only that one is dead-lettered. It costs one more death of the
 * engine than dead-lettering the whole message, and no event that stores is lost to it.
 *
 * A guard belongs to one engine instance (one start of it): runs it began itself are never
 * deaths to it, for it is alive (the same message may come back while its run is in flight,
 * when the broker link drops). Runs begun by other instances count as deaths: see the limits
 * in docs/brokers.md. Implemented on Postgres by src/db/runs-alone.ts.
 */
export interface CrashGuard {
  /** Of these, the events whose run alone another instance began and never ended. */
  diedOn(keys: readonly EventKey[]): Promise<EventKey[]>
  /** A run of this event alone starts; must be committed when it resolves. */
  begin(key: EventKey): Promise<void>
  /** These runs are over (or their event is dead-lettered): forget them. */
  end(keys: readonly EventKey[]): Promise<void>
}

export const eventKey = ({ source, id }: EventKey): EventKey => ({ source, id })
export const keyString = ({ source, id }: EventKey) => `${source}\u0000${id}`

/**
 * The events of crash-loop messages, stored one at a time under the guard. runAll() may be
 * called again after it threw (a database outage): it resumes, and runs this consumer began
 * itself are never taken for deaths (diedOn is asked once, before any of them). A run that
 * throws is ended at once, and abandon() ends one whose end failed: a run given up by an engine
 * that did not die must not be taken for a death by the next one.
 */
export class RunsAlone<D extends { readonly event: StorableEvent }> {
  private died: Set<string> | null = null
  /** Begun and not known to be ended. */
  private open: EventKey | null = null
  readonly results = new Map<D, EventResult>()
  /** The deliveries whose event the engine died on: to be dead-lettered. */
  readonly culprits = new Set<D>()

  constructor(
    private readonly guard: CrashGuard,
    private readonly deliveries: readonly D[],
    private readonly run: (event: StorableEvent) => Promise<EventResult>,
    /**
     * Holds the rest of the process off while one event runs alone (begin, run, end): a run
     * of another batch in flight when the engine dies would be taken for a death too.
     */
    private readonly exclusive: <T>(fn: () => Promise<T>) => Promise<T> = (fn) => fn(),
  ) {}

  async runAll(): Promise<void> {
    this.died ??= new Set(
      (await this.guard.diedOn(this.deliveries.map((d) => eventKey(d.event)))).map(keyString),
    )
    for (const d of this.deliveries) {
      if (this.results.has(d) || this.culprits.has(d)) continue
      if (this.died.has(keyString(d.event))) {
        this.culprits.add(d)
        continue
      }
      const key = eventKey(d.event)
      const result = await this.exclusive(async () => {
        this.open = key
        await this.guard.begin(key)
        let result: EventResult
        try {
          result = await this.run(d.event)
        } catch (err) {
          // Given up, not died (an outage): best effort, abandon() tries again.
          await this.abandon().catch(() => {})
          throw err
        }
        // Ended before the result counts: a resumed runAll() runs it again rather than leave a
        // begun run behind that a later delivery would take for a death.
        await this.guard.end([key])
        this.open = null
        return result
      })
      this.results.set(d, result)
    }
  }

  /** Ends the run left begun when runAll() threw; for a consumer giving up (closing). */
  async abandon(): Promise<void> {
    const open = this.open
    if (!open) return
    await this.guard.end([open])
    if (this.open === open) this.open = null
  }
}
