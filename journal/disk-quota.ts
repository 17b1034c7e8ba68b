import { freeDiskBytes, journalFileBytes } from './disk.js'

export interface DiskQuotaOptions {
  /** The journal's files' size past which it is full; null = a tenth of the free disk at start. */
  maxBytes: number | null
  /** Free disk below which it is full, whatever its size. */
  minFreeDiskBytes: number
  /** How often the files and the free disk are measured again. */
  intervalMs: number
}

/**
 * The journal's disk budget: its files (main, WAL, shared memory) against maxBytes, and the disk's
 * free space against minFreeDiskBytes. Both are measured on a timer; appends in between are
 * counted as they are accepted, so a burst cannot overshoot the quota between two measurements.
 */
export class DiskQuota {
  maxBytes = Infinity
  freeBytes = Infinity
  private measuredBytes = 0
  private sinceMeasure = 0
  private timer: NodeJS.Timeout | null = null
  private measuring: Promise<void> | null = null

  constructor(
    private readonly path: string,
    private readonly dataDir: string,
    private readonly o: DiskQuotaOptions,
  ) {}

  /** The first measurement; throws when the disk cannot be read. */
  async start(): Promise<void> {
    this.freeBytes = await freeDiskBytes(this.dataDir)
    this.maxBytes = this.o.maxBytes ?? Math.floor(this.freeBytes / 10)
    await this.measure()
  }

  /** Measure again every intervalMs from now on. */
  startTimer(): void {
    this.timer = setInterval(() => void this.measure(), this.o.intervalMs)
    this.timer.unref()
  }

  /** Bytes an accepted append adds (its body and an estimate of the rest of its row). */
  add(bytes: number): void {
    this.sinceMeasure += bytes
  }

  /** The files' size as last measured, plus what was appended since. */
  get bytes(): number {
    return this.measuredBytes + this.sinceMeasure
  }

  isFull(): boolean {
    return this.bytes >= this.maxBytes || this.freeBytes < this.o.minFreeDiskBytes
  }

  /** After a compaction: what was counted since the last measurement is in the files, or gone. */
  remeasure(): Promise<void> {
    this.sinceMeasure = 0
    return this.measure()
  }

  /** No more timed measurements. */
  stop(): void {
    if (this.timer) clearInterval(this.timer)
  }

  /** Resolves when no measurement is running. */
  async idle(): Promise<void> {
    await this.measuring
  }

  private measure(): Promise<void> {
    this.measuring ??= (async () => {
      try {
        const [bytes, free] = await Promise.all([
          journalFileBytes(this.path),
          freeDiskBytes(this.dataDir),
        ])
        this.measuredBytes = bytes
        this.sinceMeasure = 0
        this.freeBytes = free
      } catch {
        // Keep the last measurement; the next tick tries again.
      } finally {
        this.measuring = null
      }
    })()
    return this.measuring
  }
}
