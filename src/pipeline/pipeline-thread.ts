import { Worker } from 'node:worker_threads'
import type { JournalEntry } from '../../journal/types.js'
import { Rpc } from '../actors/rpc.js'
import type { AdminData, AdminMethod } from '../admin/data.js'
import { SluiceError } from '../errors.js'
import type { Config } from '../config.js'
import { runningFromSources } from '../db/paths.js'
import type { ForwarderJournal } from '../forwarder/index.js'
import { relayLog, type Logger } from '../log.js'
import { pipelineRestarts, reportThreadMetricsFrom, type ThreadMetrics } from '../metrics.js'
import { backoffDelay, sleep } from '../util/backoff.js'
import { onceAsync } from '../util/once.js'
import { withTimeout } from '../util/timeout.js'
import type { PipelineActorData } from './actor.js'
import { packEntries } from './entry-transfer.js'
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

/** One incarnation of the pipeline thread. */
interface Incarnation {
  worker: Worker
  rpc: Rpc
  exited: Promise<void>
  /** The thread built its pipeline and answers calls. */
  started: boolean
}

const CALL_TIMEOUT_MS = 2000

/**
 * Runs the Pipeline as an actor in a worker thread of its own (src/pipeline/actor.ts), so the
 * engine's thread does HTTP and journal appends only. It answers the actor's journal calls from
 * the journal (recent commits come from its in-memory window, moved to the thread without a
 * copy per entry), relays its log lines and metrics, and restarts it with back-off if it dies:
 * what it had not marked forwarded is still pending in the journal and is published again.
 */
export class PipelineThread implements PipelineRunner {
  private current: Incarnation | null = null
  private readonly stop = new AbortController()
  private restarts = 0
  private restarting: Promise<void> | null = null
  private ingestBusy = false
  readonly admin: AdminData = adminProxy((method, args) => {
    const incarnation = this.current
    if (!incarnation?.started) throw new SluiceError('pipeline_unavailable')
    return incarnation.rpc.call('admin', { method, args })
  })

  constructor(
    private readonly config: Config,
    private readonly journal: ForwarderJournal,
    private readonly logger: Logger,
    private readonly options: PipelineThreadOptions = {},
  ) {}

  async start(): Promise<void> {
    this.spawn()
    reportThreadMetricsFrom(async () => {
      const rpc = this.current?.rpc
      // The actor's own registry and those of the threads it started (the dispatcher).
      return rpc ? await withTimeout(rpc.call<ThreadMetrics[]>('metrics'), CALL_TIMEOUT_MS) : []
    })
  }

  async ready(): Promise<void> {
    for (;;) {
      const incarnation = this.current
      if (this.stop.signal.aborted) throw new Error('the pipeline is closed')
      try {
        if (incarnation) return await incarnation.rpc.call<void>('ready')
      } catch (err) {
        if (this.stop.signal.aborted) throw err
      }
      await (this.restarting ?? sleep(100, this.stop.signal))
    }
  }

  notify(): void {
    this.current?.rpc.cast('notify')
  }

  ingestPressure(busy: boolean): void {
    this.ingestBusy = busy
    this.current?.rpc.cast('pressure', busy)
  }

  async readiness(): Promise<Record<string, Check>> {
    const incarnation = this.current
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
      return await withTimeout(rpc.call<Record<string, Check>>('readiness'), CALL_TIMEOUT_MS)
    } catch (err) {
      const error = `the pipeline thread does not answer: ${(err as Error).message}`
      return threadChecks({ ok: false, state: 'unresponsive', error })
    }
  }

  /**
   * Ends the thread at once, the way a crash would (tests, failure drills): unconfirmed work
   * stays in the journal and the broker, and a new thread takes over after the back-off.
   */
  async terminate(): Promise<void> {
    await this.current?.worker.terminate()
  }

  close = onceAsync(async () => {
    this.stop.abort()
    reportThreadMetricsFrom(null)
    await this.restarting
    const incarnation = this.current
    if (!incarnation) return
    try {
      await incarnation.rpc.call('close')
    } finally {
      await incarnation.worker.terminate()
      await incarnation.exited
    }
  })

  private spawn(): void {
    const data: PipelineActorData = {
      config: this.config,
      options: this.options,
      logLevel: this.logger.level,
      nice: this.options.nice ?? this.config.SLUICE_PIPELINE_NICE,
    }
    const worker = new Worker(actorFile, { workerData: data })
    const rpc = new Rpc(worker, {
      readPending: async (p) => {
        const { afterSeq, limit } = p as { afterSeq: number; limit: number }
        return packEntries(await this.journal.readPending(afterSeq, limit))
      },
      markForwarded: (seqs) => this.journal.markForwarded(seqs as JournalEntry['seq'][]),
      log: (line) => relayLog(this.logger, line as string),
      started: () => {
        this.restarts = 0
        incarnation.started = true
        if (this.ingestBusy) rpc.cast('pressure', true)
      },
    })
    const exited = new Promise<void>((resolve) => {
      worker.once('error', (err) => this.logger.error({ err }, 'pipeline thread failed'))
      worker.once('exit', (code) => {
        rpc.fail()
        if (this.current?.worker === worker) this.current = null
        resolve()
        if (!this.stop.signal.aborted) this.restartLater(code)
      })
    })
    const incarnation: Incarnation = { worker, rpc, exited, started: false }
    this.current = incarnation
  }

  /** The thread died: the journal keeps accepting; a new thread takes over after a back-off. */
  private restartLater(code: number): void {
    const delayMs = backoffDelay(this.restarts++, 500, this.options.restartCapMs ?? 30_000)
    pipelineRestarts.inc()
    this.logger.error(
      { exitCode: code, attempt: this.restarts, delayMs },
      'pipeline thread died; events stay in the journal; restarting',
    )
    this.restarting = sleep(delayMs, this.stop.signal).then(() => {
      this.restarting = null
      if (!this.stop.signal.aborted) this.spawn()
    })
  }
}

/** AdminData whose every method is a call to the pipeline thread. */
function adminProxy(call: (method: AdminMethod, args: unknown[]) => Promise<unknown>): AdminData {
  const methods: AdminMethod[] = [
    'listEvents',
    'getEvent',
    'listDeadLetters',
    'countDeadLetters',
    'redrive',
    'counts',
    'upsertSubscription',
    'getSubscription',
    'listSubscriptions',
    'patchSubscription',
    'deleteSubscription',
    'rotateSecret',
    'listDeliveries',
    'getDelivery',
    'retryDelivery',
    'replay',
  ]
  return Object.fromEntries(
    methods.map((m) => [m, async (...args: unknown[]) => call(m, args)]),
  ) as unknown as AdminData
}

/** The broker and database checks when the thread cannot be asked. */
const threadChecks = (check: Check): Record<string, Check> => ({
  broker: { ...check },
  database: { ...check },
})
