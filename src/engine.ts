import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { SqliteJournal } from '../journal/index.js'
import type { Component } from './component.js'
import type { Config } from './config.js'
import { ENGINE_HOLDER, lockDataDir, type DataDirLock } from './data-dir-lock.js'
import { refuseSecretKeyExposed, SECRET_KEY_FILE } from './util/secret-box.js'
import { createLogger, type Logger } from './log.js'
import {
  journalCommits,
  journalCommitSeconds,
  journalIoFaults,
  reportBacklogFrom,
} from './metrics.js'
import { reportJournalFrom } from './alert-metrics.js'
import { configSummary } from './config-summary.js'
import { maxEventBytesOf } from './brokers/index.js'
import { brokerChoice } from './pipeline/broker-choice.js'
import { PipelineThread, type PipelineThreadOptions } from './pipeline/pipeline-thread.js'
import { AdminListener } from './admin/index.js'
import { operatorPage } from './admin/page.js'
import { parseAllowList } from './outbound/ssrf.js'
import { IngestPressure } from './pipeline/pressure.js'
import type { PipelineRunner } from './pipeline/runner.js'
import { HttpServer, readinessReport, type ReadinessFn } from './server/index.js'
import { onceAsync, runAll } from './util/once.js'
import { buildSources } from './sources/index.js'
import { tuneThreadHeaps } from './heap-tuning.js'
import { startTracing, tracingOptions, tracingWarnings, type EventTracer } from './tracing/index.js'

export interface EngineOptions {
  /** @defaultValue a new pino logger at SLUICE_LOG_LEVEL */
  logger?: Logger
  /** Tuning of the forwarder, consumer and broker adapters (tests, benchmarks). */
  pipeline?: PipelineThreadOptions
}

/** One step of the start-up, run in order. */
interface StartStep {
  name: string
  start(): Promise<void>
}

/** One step of the shutdown, run in order; every step runs even when an earlier one failed. */
interface ShutdownStep {
  name: string
  run(): Promise<void>
}

/**
 * The engine: the components of the pipeline, started in order and stopped in the documented
 * shutdown order: journal, the pipeline behind it (forwarder -> broker -> consumer -> workers ->
 * Postgres, which comes up in the background), then the HTTP server.
 *
 * Shutdown order (README "Architecture"):
 *  1. stop accepting: new events get 503 shutting_down
 *  2. drain: finish the commit in flight and answer its requests
 *  3. close the HTTP server (listen socket, then remaining connections)
 *  4. the pipeline: forwarder, consumer (finishes and acks in-flight batches), worker pool,
 *     broker, database
 *  5. close the journal
 *  6. release the data directory lock (taken first in start())
 */
export class Engine implements Component {
  readonly logger: Logger
  readonly journal: SqliteJournal
  readonly server: HttpServer
  readonly pipeline: PipelineRunner
  /** Tells the pipeline when ingest keeps the HTTP thread busy (it defers forwarding then). */
  private readonly pressure: IngestPressure
  /** The operator's API and page on SLUICE_ADMIN_HOST:SLUICE_ADMIN_PORT. */
  readonly admin: AdminListener
  /** Events committed to the journal since start (GET /v1/status). */
  private received = 0
  private readonly components: StartStep[]
  private readonly shutdown: ShutdownStep[]
  private started: StartStep[] = []
  private dataDirLock: DataDirLock | null = null
  /** The HTTP thread's tracer (receive and commit spans); null with tracing off. */
  private tracer: EventTracer | null = null

  constructor(
    readonly config: Config,
    options: EngineOptions = {},
  ) {
    this.logger = options.logger ?? createLogger(config.SLUICE_LOG_LEVEL)
    // Before any of the engine's threads exists: it applies to isolates made afterwards.
    tuneThreadHeaps()
    this.journal = new SqliteJournal({
      dataDir: config.SLUICE_DATA_DIR,
      sync: config.SLUICE_JOURNAL_SYNC,
      maxBytes: config.SLUICE_JOURNAL_MAX_BYTES ?? null,
      logger: this.logger,
      onCommit: (events, seconds) => {
        this.received += events
        journalCommits.observe(events)
        journalCommitSeconds.observe(seconds)
        this.pipeline.notify()
      },
      onCompactError: (err) => this.logger.warn({ err }, 'journal compaction failed'),
      onIoFault: ({ cause: err, attempt, recovered }) => {
        if (recovered) return this.logger.warn({ attempt }, 'journal recovered from an I/O error')
        if (attempt === 0) journalIoFaults.inc()
        this.logger.error(
          { err, attempt },
          attempt === 0
            ? 'journal I/O error: refusing events until the journal recovers'
            : 'journal recovery failed; retrying',
        )
      },
    })
    // In a worker thread of its own, so the HTTP thread does HTTP and journal appends only
    // (measured against running it on this thread in docs/actors.md).
    this.pipeline = new PipelineThread(config, this.journal, this.logger, options.pipeline)
    this.pressure = new IngestPressure({ onChange: (busy) => this.pipeline.ingestPressure(busy) })
    reportBacklogFrom(() => this.journal.stats().pending)
    reportJournalFrom(() => this.journal.stats())
    this.server = new HttpServer({
      journal: this.journal,
      sources: buildSources(config.sources),
      host: config.HOST,
      port: config.PORT,
      maxBodyBytes: config.SLUICE_MAX_BODY,
      maxEventBytes: maxEventBytesOf(brokerChoice(config, options.pipeline?.brokers)),
      readiness: this.readiness,
      logger: this.logger.child({ component: 'http' }),
      trustedProxies: config.SLUICE_TRUSTED_PROXIES,
    })
    this.admin = new AdminListener({
      host: config.SLUICE_ADMIN_HOST,
      port: config.SLUICE_ADMIN_PORT,
      tokens: config.SLUICE_ADMIN_TOKEN,
      dataDir: config.SLUICE_DATA_DIR,
      data: this.pipeline.admin,
      readiness: () =>
        readinessReport(this.journal, this.readiness, () => this.server.acceptingEvents),
      received: () => this.received,
      page: operatorPage,
      outbound: { allow: parseAllowList(config.SLUICE_OUTBOUND_ALLOW.join(',')) },
      logger: this.logger.child({ component: 'admin' }),
    })
    this.components = [
      // First: nothing else may open SLUICE_DATA_DIR while this engine has it.
      {
        name: 'data dir lock',
        start: async () => {
          this.dataDirLock = lockDataDir(config.SLUICE_DATA_DIR, ENGINE_HOLDER)
          // Here, in the main thread, so that an exposed key stops the start with exit 2; the
          // threads that load the key later would only fail their own start.
          const keyFile = join(config.SLUICE_DATA_DIR, SECRET_KEY_FILE)
          if (!config.SLUICE_SECRET_KEY && existsSync(keyFile)) refuseSecretKeyExposed(keyFile)
        },
      },
      { name: 'journal', start: () => this.journal.start() },
      {
        // Before the listener opens, so every event received is traced (when tracing is on).
        name: 'tracing',
        start: async () => {
          for (const { variable, value, message } of tracingWarnings(config)) {
            this.logger.warn({ variable, value }, message)
          }
          this.tracer = await startTracing(tracingOptions(config, 'http'))
          this.server.traceWith(this.tracer)
        },
      },
      // Returns at once: ingest never waits for the broker or the database.
      { name: 'pipeline', start: async () => this.pipeline.start() },
      { name: 'http', start: () => this.server.start() },
      { name: 'ingest pressure', start: () => this.pressure.start() },
      { name: 'admin listener', start: () => this.admin.start() },
    ]
    this.shutdown = [
      { name: 'stop accepting', run: async () => this.server.stopAccepting() },
      { name: 'ingest pressure', run: () => this.pressure.close() },
      { name: 'drain journal', run: () => this.server.drain().then(() => this.journal.flush()) },
      { name: 'close http', run: () => this.server.close() },
      { name: 'close admin listener', run: () => this.admin.close() },
      { name: 'close pipeline', run: () => this.pipeline.close() },
      // After close http: every receive span has ended; exported before the process exits.
      {
        name: 'export spans',
        run: async () =>
          this.tracer
            ?.shutdown()
            .catch((err: unknown) => this.logger.warn({ err }, 'exporting spans failed')),
      },
      { name: 'close journal', run: () => this.journal.close() },
      { name: 'release data dir lock', run: async () => this.dataDirLock?.release() },
    ]
  }

  /** Extra /readyz checks: broker and database state (informative; ingest works without them). */
  private readonly readiness: ReadinessFn = () => this.pipeline.readiness()

  /** The bound admin port (SLUICE_ADMIN_PORT=0 picks a free one). */
  get adminPort(): number {
    return this.admin.port
  }

  /** The bound HTTP port (PORT=0 picks a free one). */
  get port(): number {
    return this.server.port
  }

  /** Start every component in order; on failure, close what already started and rethrow. */
  async start(): Promise<void> {
    this.logger.info({ config: configSummary(this.config) }, 'configuration')
    for (const c of this.components) {
      try {
        await c.start()
        this.started.push(c)
      } catch (err) {
        await this.close().catch(() => {})
        throw new Error(`cannot start ${c.name}: ${(err as Error).message}`, { cause: err })
      }
    }
  }

  /** Every shutdown step runs, in order, even when an earlier one failed; each failure is logged. */
  close = onceAsync(() =>
    runAll(
      this.shutdown.map((step): [string, () => Promise<void>] => [
        step.name,
        () =>
          step.run().catch((err: unknown) => {
            this.logger.error({ err, step: step.name }, 'shutdown step failed')
            throw err
          }),
      ]),
    ),
  )
}
