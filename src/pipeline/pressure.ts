import { performance, type EventLoopUtilization } from 'node:perf_hooks'
import type { Component } from '../component.js'
import { onceAsync } from '../util/once.js'

export interface IngestPressureOptions {
  /** Called when the HTTP thread becomes busy (true) or calm again (false). */
  onChange: (busy: boolean) => void
  /** Sampling interval. @defaultValue 100 */
  intervalMs?: number
  /** Event-loop utilisation at or above which the HTTP thread counts as busy. @defaultValue 0.75 */
  busyAbove?: number
  /** Utilisation below which it counts as calm again (hysteresis). @defaultValue 0.55 */
  calmBelow?: number
}

/**
 * Whether ingest is using the HTTP thread to the full: its event-loop utilisation (time in
 * JavaScript, including journal commits waiting for their fsync) over the last interval. The
 * pipeline thread defers forwarding while it is busy, so a burst goes into the journal at
 * ingest speed instead of sharing the cores with the broker and Postgres work behind it.
 */
export class IngestPressure implements Component {
  private timer: NodeJS.Timeout | null = null
  private last: EventLoopUtilization | null = null
  private busy = false
  private readonly o: Required<IngestPressureOptions>

  constructor(options: IngestPressureOptions) {
    this.o = { intervalMs: 100, busyAbove: 0.75, calmBelow: 0.55, ...options }
  }

  get isBusy(): boolean {
    return this.busy
  }

  async start(): Promise<void> {
    this.last = performance.eventLoopUtilization()
    this.timer = setInterval(() => this.sample(), this.o.intervalMs)
    this.timer.unref()
  }

  close = onceAsync(async () => {
    if (this.timer) clearInterval(this.timer)
    this.timer = null
    if (this.busy) this.set(false)
  })

  private sample(): void {
    const now = performance.eventLoopUtilization()
    const { utilization } = performance.eventLoopUtilization(now, this.last ?? undefined)
    this.last = now
    if (!this.busy && utilization >= this.o.busyAbove) this.set(true)
    else if (this.busy && utilization < this.o.calmBelow) this.set(false)
  }

  private set(busy: boolean): void {
    this.busy = busy
    this.o.onChange(busy)
  }
}
