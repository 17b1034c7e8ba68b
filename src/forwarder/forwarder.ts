import type { Component } from '../component.js'
import type { Journal, JournalEntry } from '../../journal/types.js'
import type { Publisher } from '../brokers/types.js'
import type { Logger } from '../log.js'
import { eventsForwarded } from '../metrics.js'
import { backoffDelay, sleep } from '../util/backoff.js'
import { onceAsync } from '../util/once.js'
import { resolveForwarderOptions, type ForwarderOptions } from './options.js'

/** All the forwarder needs from the journal: it compacts its files on its own. */
export type ForwarderJournal = Pick<Journal, 'readPending' | 'markForwarded'> &
  Partial<Pick<Journal, 'forwardedThrough'>>

export interface ForwarderStatus {
  /** `deferring`: holding entries back while ingest is busy (burstLagMs). */
  state: 'starting' | 'forwarding' | 'deferring' | 'idle' | 'retrying' | 'closed'
  /** Publish attempts that failed in a row; 0 once the broker confirms again. */
  consecutiveFailures: number
  lastError: string | null
  forwarded: number
}

/** The wake-up's abort reason: a value, not an error (nothing waits on it but a sleep). */
const WOKEN = 'woken'

/**
 * Drains the journal into the broker, in seq order and in batches. An entry is marked forwarded
 * only after the broker confirmed it; anything unconfirmed stays pending and is sent again
 * (at-least-once: duplicates are possible, loss is not).
 */
export class Forwarder implements Component {
  private readonly options: Required<ForwarderOptions>
  private readonly stop = new AbortController()
  private wake: AbortController = new AbortController()
  private readonly inFlight = new Set<Promise<void>>()
  private loop: Promise<void> | null = null
  private rewind = false
  /**
   * Confirmed by the broker, not yet marked: the journal refused the mark (an I/O fault). They
   * are marked again, not published again: rewinding would republish every pending entry every
   * few seconds for as long as the fault lasts.
   */
  private unmarked: number[] = []
  private ingestBusy = false
  /** Aborted when ingest is calm again: ends a hold at once. */
  private calm = new AbortController()
  private readonly current: ForwarderStatus = {
    state: 'starting',
    consecutiveFailures: 0,
    lastError: null,
    forwarded: 0,
  }

  constructor(
    private readonly journal: ForwarderJournal,
    private readonly publisher: Publisher,
    private readonly logger: Logger,
    options?: ForwarderOptions,
  ) {
    this.options = resolveForwarderOptions(options)
  }

  /** Starts the drain loop and returns at once. */
  async start(): Promise<void> {
    this.loop ??= this.run().catch((err: unknown) => {
      this.logger.fatal({ err }, 'forwarder loop crashed')
      throw err
    })
  }

  /** Latency hint that new entries were committed; the poll loop stays the source of truth. */
  notify(): void {
    // Once per journal commit. abort() without a reason builds a DOMException, stack and all,
    // even for a signal aborted already: 5.9 µs a call on the pipeline thread.
    if (!this.wake.signal.aborted) this.wake.abort(WOKEN)
  }

  /**
   * Whether ingest is using the HTTP thread to the full (src/pipeline/pressure.ts). While it
   * is, entries younger than burstLagMs wait; the hold ends as soon as ingest is calm again.
   */
  setIngestBusy(busy: boolean): void {
    if (busy === this.ingestBusy) return
    this.ingestBusy = busy
    if (busy) this.calm = new AbortController()
    else this.calm.abort()
  }

  status(): Readonly<ForwarderStatus> {
    return { ...this.current }
  }

  /** Stop reading the journal and wait for in-flight publishes to settle. */
  close = onceAsync(async () => {
    this.stop.abort()
    this.wake.abort()
    await this.loop?.catch(() => undefined)
    await Promise.allSettled(this.inFlight)
    this.current.state = 'closed'
  })

  private async run(): Promise<void> {
    let cursor = 0
    const { batchSize, maxInFlight } = this.options
    while (!this.stop.signal.aborted) {
      if (this.unmarked.length > 0 && !(await this.markHeld())) {
        await this.backOff()
        continue
      }
      if (this.rewind) {
        // Something was not confirmed: let the other batches settle, then re-read every
        // pending entry from the start so the unconfirmed ones go out again, in order.
        await Promise.allSettled(this.inFlight)
        this.rewind = false
        cursor = 0
        await this.backOff()
        continue
      }
      // Re-arm the wake-up before reading, so a commit that lands after this read still wakes us.
      if (this.wake.signal.aborted) this.wake = new AbortController()
      const entries = await this.journal.readPending(cursor, batchSize)
      const last = entries.at(-1)
      if (!last) {
        if (this.inFlight.size > 0) await Promise.race(this.inFlight)
        else await this.idle()
        continue
      }
      await this.holdDuringBurst(entries[0]!.receivedAt)
      if (this.stop.signal.aborted) break
      cursor = last.seq
      this.current.state = 'forwarding'
      const publish = this.forward(entries).finally(() => this.inFlight.delete(publish))
      this.inFlight.add(publish)
      if (this.inFlight.size >= maxInFlight) await Promise.race(this.inFlight)
    }
  }

  /** Bounded: an entry waits at most until it is burstLagMs old, however long ingest is busy. */
  private async holdDuringBurst(oldestAt: number): Promise<void> {
    const lag = this.options.burstLagMs
    while (lag > 0 && this.ingestBusy && !this.stop.signal.aborted) {
      const wait = oldestAt + lag - Date.now()
      if (wait <= 0) return
      this.current.state = 'deferring'
      await sleep(wait, AbortSignal.any([this.stop.signal, this.calm.signal]))
    }
  }

  private async forward(entries: JournalEntry[]): Promise<void> {
    let confirmed: number[]
    try {
      const results = await this.publisher.publish(entries)
      confirmed = entries.filter((_, i) => results[i] === true).map((e) => e.seq)
      if (confirmed.length < entries.length) {
        this.fail(`broker confirmed ${confirmed.length} of ${entries.length} events`)
      }
    } catch (err) {
      this.fail((err as Error).message ?? String(err))
      return
    }
    if (confirmed.length === 0) return
    try {
      await this.journal.markForwarded(confirmed)
    } catch (err) {
      // The broker has them: held to be marked again (a restart meanwhile publishes them again,
      // a duplicate, never a loss).
      this.unmarked.push(...confirmed)
      this.noteFailure(`journal markForwarded failed: ${(err as Error).message}`)
      return
    }
    if (confirmed.length === entries.length) this.current.consecutiveFailures = 0
    this.counted(confirmed.length)
  }

  /** Marks what the journal refused before; true once it took them. */
  private async markHeld(): Promise<boolean> {
    await Promise.allSettled(this.inFlight)
    const seqs = this.unmarked
    try {
      await this.journal.markForwarded(seqs)
    } catch (err) {
      this.noteFailure(`journal markForwarded failed: ${(err as Error).message}`)
      return false
    }
    this.unmarked = this.unmarked.slice(seqs.length)
    this.current.consecutiveFailures = 0
    this.counted(seqs.length)
    return true
  }

  private counted(n: number): void {
    this.current.forwarded += n
    eventsForwarded.inc(n)
  }

  private async backOff(): Promise<void> {
    this.current.state = 'retrying'
    const delay = backoffDelay(
      this.current.consecutiveFailures - 1,
      this.options.retryBaseMs,
      this.options.retryCapMs,
    )
    await sleep(delay, this.stop.signal)
  }

  private fail(message: string): void {
    this.noteFailure(message)
    this.rewind = true
  }

  private noteFailure(message: string): void {
    if (this.current.consecutiveFailures === 0) {
      this.logger.warn(
        { error: message },
        'forwarding failed; entries stay in the journal and will be retried',
      )
    }
    this.current.consecutiveFailures++
    this.current.lastError = message
  }

  private async idle(): Promise<void> {
    this.current.state = 'idle'
    await sleep(this.options.idlePollMs, AbortSignal.any([this.wake.signal, this.stop.signal]))
  }
}
