import { readFileSync } from 'node:fs'

/** VmRSS and VmHWM (peak) of a live process in bytes, from /proc (Linux); null once it is gone. */
export function rssOf(pid: number): { rss: number; hwm: number } | null {
  let status: string
  try {
    status = readFileSync(`/proc/${pid}/status`, 'utf8')
  } catch {
    return null
  }
  const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0)
  return { rss: kb('VmRSS') * 1024, hwm: kb('VmHWM') * 1024 }
}

/**
 * Samples a process's RSS every `everyMs` until stop(). The peak is the kernel's own high-water
 * mark (VmHWM), which also catches a spike between two samples; the samples give the idle level.
 */
export class RssSampler {
  private readonly samples: Array<{ at: number; rss: number }> = []
  private readonly timer: NodeJS.Timeout
  private hwm = 0

  constructor(
    readonly pid: number,
    everyMs = 150,
  ) {
    this.sample()
    this.timer = setInterval(() => this.sample(), everyMs)
  }

  private sample(): void {
    const r = rssOf(this.pid)
    if (!r) return
    this.samples.push({ at: Date.now(), rss: r.rss })
    this.hwm = Math.max(this.hwm, r.hwm)
  }

  /** Highest RSS so far (VmHWM at the last sample). */
  peak(): number {
    this.sample()
    return this.hwm
  }

  /** Mean RSS of the samples taken at or after `from` (ms since the epoch); null without any. */
  meanSince(from: number): number | null {
    const xs = this.samples.filter((s) => s.at >= from).map((s) => s.rss)
    return xs.length === 0 ? null : xs.reduce((a, b) => a + b, 0) / xs.length
  }

  stop(): void {
    clearInterval(this.timer)
  }
}

export const mb = (bytes: number | null) => (bytes === null ? null : Math.round(bytes / 2 ** 20))
