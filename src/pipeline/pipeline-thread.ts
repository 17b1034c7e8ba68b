import type { FileRange, RecentReads } from '../../journal/types.js'
import type { WithTransfer } from '../actors/rpc.js'
import { ThreadHost } from '../actors/thread-host.js'
import type { AdminData } from '../model/admin-data.js'
import { SluiceError } from '../errors.js'
import type { Config } from '../config.js'
import { runningFromSources } from '../util/package-root.js'
import type { ForwarderJournal } from '../forwarder/index.js'
import type { Logger } from '../log.js'
import {
  pipelineRestarts,
  reportThreadMetricsFrom,
  threadMetricsLate,
  type ThreadMetrics,
} from '../metrics.js'
import { onceAsync } from '../util/once.js'
import { LastAnswer } from '../util/last-answer.js'
import { withTimeout } from '../util/timeout.js'
import type { PipelineActorData } from './actor.js'
import type { PipelineActorApi, PipelineHostApi } from './actor-api.js'
import { packEntries, type PackedEntries } from './entry-transfer.js'
import type { PipelineOptions } from './pipeline.js'
import type { Check } from './readiness.js'
import type { PipelineRunner } from './runner.js'

// Under tap the sources run through its TypeScript loader, which worker threads inherit.
const actorFile = new URL(`./actor.${runningFromSources ? 'ts' : 'js'}`, import.meta.url)

export interface PipelineThreadOptions extends PipelineOptions {
  /** Nice value of the pipeline thread and the threads it starts. @defaultValue SLUICE_PIPELINE_NICE */
  nice?: number
  /** Longest wait between restarts of a thread that died. @defaultValue 30000 */
  restartCapMs?: number
}

// Longer than the dispatcher thread's bound (1 s): the pipeline thread asks it within these calls.
const CALL_TIMEOUT_MS = 3000

/**
 * Runs the Pipeline as an actor in a worker thread of its own (src/pipeline/actor.ts), so the
 * engine's thread does HTTP and journal appends only. It answers the actor's journal calls from
 * the journal (recent commits come from its in-memory window, moved to the thread without a
 * copy per entry; a backlog below it the thread reads from the file itself), relays its log
 * lines and metrics, and restarts it with back-off if it dies: what it had not marked
 * forwarded is still pending in the journal and is published again.
 */
export class PipelineThread implements PipelineRunner {
  private readonly host: ThreadHost<PipelineActorApi>
  private ingestBusy = false
  /** Every AdminData method is a call to the started thread (pipeline_unavailable without one). */
  get admin(): AdminData {
    return this.host.remote.admin
  }

  constructor(
    config: Config,
    journal: ForwarderJournal & Partial<RecentReads>,
    logger: Logger,
    options: PipelineThreadOptions = {},
  ) {
    const data: PipelineActorData = {
      config,
      options,
      logLevel: logger.level,
      nice: options.nice ?? config.SLUICE_PIPELINE_NICE,
    }
    this.host = new ThreadHost({
      file: actorFile,
      workerData: () => data,
      serve: {
        readPending: (afterSeq, limit) => readForThread(journal, afterSeq, limit),
        markForwarded: (seqs) => journal.markForwarded(seqs),
        forwardedThrough: () => journal.forwardedThrough?.() ?? Date.now(),
      } satisfies PipelineHostApi,
      logger,
      name: 'pipeline thread',
      whileDown: 'events stay in the journal',
      ...(options.restartCapMs !== undefined ? { restartCapMs: options.restartCapMs } : {}),
      onRestart: () => pipelineRestarts.inc(),
      unavailable: () => new SluiceError('pipeline_unavailable'),
      onStarted: (rpc) => {
        if (this.ingestBusy) rpc.cast.pressure(true)
      },
    })
  }

  async start(): Promise<void> {
    this.host.start()
    const answers = new LastAnswer<ThreadMetrics[]>(() => threadMetricsLate.inc())
    reportThreadMetricsFrom(async () => {
      const rpc = this.host.current?.rpc
      if (!rpc) return []
      // The actor's own registry and those of the threads it started (the dispatcher).
      const ask = () => withTimeout(rpc.remote.metrics(), CALL_TIMEOUT_MS)
      return answers.of(rpc, ask)
    })
  }

  async ready(): Promise<void> {
    for (;;) {
      const incarnation = this.host.current
      if (this.host.closed) throw new Error('the pipeline is closed')
      try {
        if (incarnation) return void (await incarnation.rpc.remote.ready())
      } catch (err) {
        if (this.host.closed) throw err
      }
      await (this.host.restarting ?? this.host.pause(100))
    }
  }

  notify(): void {
    this.host.current?.rpc.cast.notify()
  }

  ingestPressure(busy: boolean): void {
    this.ingestBusy = busy
    this.host.current?.rpc.cast.pressure(busy)
  }

  async readiness(): Promise<Record<string, Check>> {
    const incarnation = this.host.current
    // A thread still loading has no problem to report yet; a missing or silent one does.
    if (incarnation && !incarnation.started) return threadChecks({ ok: true, state: 'starting' })
    if (!incarnation) {
      return threadChecks({
        ok: false,
        state: 'starting',
        error: 'the pipeline thread died; restarting',
      })
    }
    try {
      const rpc = incarnation.rpc
      return await withTimeout(rpc.remote.readiness(), CALL_TIMEOUT_MS)
    } catch (err) {
      const error = `the pipeline thread does not answer: ${(err as Error).message}`
      return threadChecks({ ok: false, state: 'unresponsive', error })
    }
  }

  /**
   * Ends the thread at once, the way a crash would (tests, failure drills): unconfirmed work
   * stays in the journal and the broker, and a new thread takes over after the back-off.
   */
  terminate(): Promise<void> {
    return this.host.terminate()
  }

  close = onceAsync(async () => {
    reportThreadMetricsFrom(null)
    await this.host.close()
  })
}

/**
 * The host's side of readPending: a journal that can (SqliteJournal) answers from its window
 * or names the file range, which the thread reads itself; any other is read here.
 */
export async function readForThread(
  journal: ForwarderJournal & Partial<RecentReads>,
  afterSeq: number,
  limit: number,
): Promise<WithTransfer<PackedEntries> | FileRange> {
  const recent = journal.readRecent?.(afterSeq, limit)
  if (recent && !Array.isArray(recent)) return recent
  return packEntries(recent ?? (await journal.readPending(afterSeq, limit)))
}

/** The broker and database checks when the thread cannot be asked. */
export const threadChecks = (check: Check): Record<string, Check> => ({
  broker: { ...check },
  database: { ...check },
})
