import type { Component } from '../component.js'
import { onceAsync } from '../util/once.js'

/** Cumulative counts since the process started. */
export interface Totals {
  received: number
  stored: number
  delivered: number
  /** Events dead-lettered. */
  failed: number
  /** Delivery attempts that failed. */
  failedAttempts: number
}

interface Sample extends Totals {
  at: number
}

const KEEP_MS = 10 * 60 * 1000

/**
 * Samples the engine's totals every second and keeps ten minutes of them, for the rates and
 * the chart of GET /v1/status. A sample whose source cannot be read (the pipeline thread is
 * restarting) repeats the last known pipeline counts, so a rate dips to zero instead of lying.
 */
export class RateHistory implements Component {
  private samples: Sample[] = []
  private timer: NodeJS.Timeout | null = null
  private sampling: Promise<void> | null = null

  constructor(
    private readonly read: () => Promise<Totals>,
    private readonly intervalMs = 1000,
  ) {}

  async start(): Promise<void> {
    await this.sample()
    this.timer = setInterval(() => void this.sample(), this.intervalMs)
    this.timer.unref()
  }

  close = onceAsync(async () => {
    if (this.timer) clearInterval(this.timer)
    this.timer = null
    await this.sampling
  })

  /** The latest totals. */
  totals(): Totals {
    const { at: _at, ...t } = this.samples.at(-1) ?? { at: 0, ...zero }
    return t
  }

  /** Per second over the last `windowSeconds` (or since start, when shorter). */
  rates(windowSeconds = 60): Totals {
    const last = this.samples.at(-1)
    if (!last) return { ...zero }
    const from = this.samples.find((s) => s.at >= last.at - windowSeconds * 1000) ?? last
    return perSecond(from, last)
  }

  /** Received and stored per second in `stepSeconds` steps over the kept ten minutes. */
  history(stepSeconds = 5): { at: string; received: number; stored: number }[] {
    const step = Math.max(1, Math.round((stepSeconds * 1000) / this.intervalMs))
    const points: { at: string; received: number; stored: number }[] = []
    for (let i = step; i < this.samples.length; i += step) {
      const r = perSecond(this.samples[i - step]!, this.samples[i]!)
      points.push({
        at: new Date(this.samples[i]!.at).toISOString(),
        received: r.received,
        stored: r.stored,
      })
    }
    return points
  }

  private sample(): Promise<void> {
    this.sampling ??= (async () => {
      try {
        const t = await this.read().catch(() => null)
        const previous = this.samples.at(-1)
        const totals = t ?? (previous ? { ...previous } : { ...zero })
        this.samples.push({ ...totals, at: Date.now() })
        const cutoff = Date.now() - KEEP_MS
        while (this.samples.length > 1 && this.samples[0]!.at < cutoff) this.samples.shift()
      } finally {
        this.sampling = null
      }
    })()
    return this.sampling
  }
}

const zero: Totals = { received: 0, stored: 0, delivered: 0, failed: 0, failedAttempts: 0 }

function perSecond(from: Sample, to: Sample): Totals {
  const seconds = (to.at - from.at) / 1000
  const rate = (k: keyof Totals) =>
    seconds > 0 ? Math.round((Math.max(0, to[k] - from[k]) / seconds) * 100) / 100 : 0
  return {
    received: rate('received'),
    stored: rate('stored'),
    delivered: rate('delivered'),
    failed: rate('failed'),
    failedAttempts: rate('failedAttempts'),
  }
}
