import { backoffDelay } from '../src/util/backoff.js'
import { JournalUnavailableError } from './errors.js'

/** Recovery attempts while the disk still fails: 50-100 ms first, then up to every 2 s. */
const RECOVER_BASE_MS = 100
const RECOVER_CAP_MS = 2000

/** What the 503 says while the journal is held closed after an I/O error. */
export const IO_FAULT_MESSAGE =
  "the journal's disk failed a write or fsync (I/O error); events are refused until the journal has recovered; retry later"

/**
 * SQLite's result codes for a failed read, write or fsync (SQLITE_IOERR_*, EIO among them) and
 * for a full disk (SQLITE_FULL, ENOSPC). better-sqlite3 throws them with `code`; the worker
 * writer passes the code on in its WriterError.
 */
export function isIoFault(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code
  return typeof code === 'string' && (code.startsWith('SQLITE_IOERR') || code === 'SQLITE_FULL')
}

/** One change of the fault state, for the log: entered (attempt 0), still failing, recovered. */
export interface IoFaultReport {
  /** The error that put the journal into the fault, or the last failed recovery's. */
  cause: Error
  /** Recovery attempts so far; 0 when the fault was just entered. */
  attempt: number
  recovered: boolean
}

/**
 * Holds the journal closed after a writer operation failed with an I/O error, until the writer's
 * recovery (journal/writer-core.ts `recover`) succeeded: no commit, mark or compaction reaches
 * the file meanwhile, so nothing is acknowledged on top of a WAL that may have lost pages
 * (fsyncgate: a later fsync succeeding is no proof). Recovery is retried on a timer, so the
 * journal opens again by itself once the disk works, with no request needed to drive it.
 */
export class IoFaultGuard {
  private fault: Error | null = null
  private attempt = 0
  private timer: NodeJS.Timeout | null = null
  private recovering: Promise<void> | null = null
  private closed = false

  constructor(
    private readonly recover: () => Promise<void>,
    private readonly report: (r: IoFaultReport) => void,
  ) {}

  get faulted(): boolean {
    return this.fault !== null
  }

  /** Throws the refusal while held closed. It carries no cause: the fault was reported once. */
  check(): void {
    if (this.fault) throw new JournalUnavailableError(IO_FAULT_MESSAGE)
  }

  /** Called with the error of every failed writer operation; true when it was an I/O fault. */
  observe(err: unknown): boolean {
    if (!isIoFault(err)) return false
    if (this.fault || this.closed) return true
    this.fault = err as Error
    this.attempt = 0
    this.report({ cause: this.fault, attempt: 0, recovered: false })
    this.schedule()
    return true
  }

  async close(): Promise<void> {
    this.closed = true
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
    await this.recovering
  }

  private schedule(): void {
    if (this.closed) return
    this.timer = setTimeout(
      () => {
        this.timer = null
        this.recovering = this.tryRecover().finally(() => (this.recovering = null))
      },
      backoffDelay(this.attempt, RECOVER_BASE_MS, RECOVER_CAP_MS),
    )
    this.timer.unref()
  }

  private async tryRecover(): Promise<void> {
    this.attempt++
    try {
      await this.recover()
    } catch (err) {
      // Reported on the first failed attempt and then every 10th, not every 2 s.
      if (this.attempt % 10 === 1)
        this.report({ cause: err as Error, attempt: this.attempt, recovered: false })
      return this.schedule()
    }
    const cause = this.fault ?? new Error('I/O fault')
    this.fault = null
    this.report({ cause, attempt: this.attempt, recovered: true })
  }
}
