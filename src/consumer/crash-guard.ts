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
 * Implemented on Postgres by src/db/runs-alone.ts.
 */
export interface CrashGuard {
  /** Of these, the events whose run alone began and never ended. */
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
 * itself are never taken for deaths (diedOn is asked once, before any of them).
 */
export class RunsAlone<D extends { readonly event: StorableEvent }> {
  private died: Set<string> | null = null
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
      const result = await this.exclusive(async () => {
        await this.guard.begin(eventKey(d.event))
        const result = await this.run(d.event)
        // Ended before the result counts: a resumed runAll() runs it again rather than leave a
        // begun run behind that a later delivery would take for a death.
        await this.guard.end([eventKey(d.event)])
        return result
      })
      this.results.set(d, result)
    }
  }
}
