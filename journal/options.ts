import pino from 'pino'
import type { Logger } from '../src/log.js'
import type { IoFaultReport } from './io-fault.js'
import type { SyncMode } from './schema.js'

export interface SqliteJournalOptions {
  /** Directory holding journal.db (SLUICE_DATA_DIR); created when missing. */
  dataDir: string
  /** `full` fsyncs every commit (survives power loss); `normal` survives a process crash. @defaultValue 'full' */
  sync?: SyncMode
  /** Journal size past which append is refused; null = a tenth of the free disk at start. @defaultValue null */
  maxBytes?: number | null
  /** Free disk below which append is refused, whatever the journal size. @defaultValue 64 MiB */
  minFreeDiskBytes?: number
  /** How often file sizes and free disk are re-measured. @defaultValue 1000 */
  diskCheckIntervalMs?: number
  /** Interval of the checkpointer thread's PASSIVE WAL checkpoints; 0 disables the thread. @defaultValue 200 */
  checkpointIntervalMs?: number
  /** Most events in one commit. @defaultValue 1000 */
  maxBatch?: number
  /** Interval of compact() runs (each bounded), so the files shrink after a backlog drained; 0 disables. @defaultValue 2000 */
  compactIntervalMs?: number
  /**
   * Bytes (bodies and metadata, estimated) of the most recently committed entries kept in
   * memory, so that readPending answers them without reading their rows back from the file;
   * the file is read only for what the window does not hold (a backlog after an outage or a
   * restart). Entries leave it when marked forwarded, the oldest when it is full. 0 disables
   * it. The bound counts body bytes; a body read over HTTP also keeps the rest of its 512 KiB
   * slab (src/server/body-slab.ts) alive, about one slab more while entries leave in order, up
   * to a slab per entry when the broker confirmed an envelope's neighbours but not it (until
   * the forwarder's rewind sends it again). 16 MiB is about 3,000 5 KB events: a forwarder that
   * keeps up reads nothing from the file, and a burst that holds forwarding back
   * (SLUICE_BURST_LAG_MS) is mostly read back from it at any size the memory allows, so a larger
   * window only raised the burst's peak RSS (issue 20, bench/README.md). @defaultValue 16 MiB
   */
  windowBytes?: number
  /** Called after each commit with its size and duration, for metrics. @defaultValue no-op */
  onCommit?: (events: number, seconds: number) => void
  /** Called when a timed compaction failed; the next interval tries again. @defaultValue no-op */
  onCompactError?: (err: unknown) => void
  /** Writes the checkpointer thread's deaths and restarts. @defaultValue silent */
  logger?: Logger
  /**
   * Called, to be logged at error level, when a commit, mark or compaction failed with an I/O
   * error (EIO, ENOSPC; the journal is `io_error` and refuses appends meanwhile), on the first
   * and every 10th failed recovery, and with `recovered: true` once it is open again.
   * @defaultValue no-op
   */
  onIoFault?: (r: IoFaultReport) => void
}

const defaults: Readonly<Omit<Required<SqliteJournalOptions>, 'dataDir'>> = Object.freeze({
  sync: 'full',
  maxBytes: null,
  minFreeDiskBytes: 64 * 1024 * 1024,
  diskCheckIntervalMs: 1000,
  checkpointIntervalMs: 200,
  maxBatch: 1000,
  compactIntervalMs: 2000,
  windowBytes: 16 * 1024 * 1024,
  onCommit: () => {},
  onCompactError: () => {},
  logger: pino({ level: 'silent' }),
  onIoFault: () => {},
})

const positiveInt = (v: unknown) => typeof v === 'number' && Number.isInteger(v) && v > 0

/** The options with their defaults; throws a TypeError naming the first one that is invalid. */
export function resolveJournalOptions(
  options: SqliteJournalOptions,
): Required<SqliteJournalOptions> {
  if (typeof options?.dataDir !== 'string' || options.dataDir === '')
    throw new TypeError('options.dataDir must be a directory path')
  const opts = { ...defaults, ...options } as Required<SqliteJournalOptions>
  if (opts.sync !== 'full' && opts.sync !== 'normal')
    throw new TypeError("options.sync must be 'full' or 'normal'")
  if (opts.maxBytes !== null && !positiveInt(opts.maxBytes))
    throw new TypeError('options.maxBytes must be a positive integer or null')
  if (!Number.isInteger(opts.minFreeDiskBytes) || opts.minFreeDiskBytes < 0)
    throw new TypeError('options.minFreeDiskBytes must be a non-negative integer')
  if (!positiveInt(opts.diskCheckIntervalMs))
    throw new TypeError('options.diskCheckIntervalMs must be a positive integer')
  if (!Number.isInteger(opts.checkpointIntervalMs) || opts.checkpointIntervalMs < 0)
    throw new TypeError('options.checkpointIntervalMs must be a non-negative integer')
  if (!positiveInt(opts.maxBatch))
    throw new TypeError('options.maxBatch must be a positive integer')
  if (!Number.isInteger(opts.compactIntervalMs) || opts.compactIntervalMs < 0)
    throw new TypeError('options.compactIntervalMs must be a non-negative integer')
  if (!Number.isInteger(opts.windowBytes) || opts.windowBytes < 0)
    throw new TypeError('options.windowBytes must be a non-negative integer')
  return opts
}
