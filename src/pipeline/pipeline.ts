import {
  createBroker,
  hasLegacyDeadLetters,
  type Broker,
  type BrokerOverrides,
  type Publisher,
} from '../brokers/index.js'
import type { Config } from '../config.js'
import { Consumer, type ConsumerOptions } from '../consumer/index.js'
import type { BatchProcessor } from '../consumer/types.js'
import { openDatabase, type Database } from '../db/database.js'
import { writeDeadLetters } from '../db/dead-letters.js'
import { permanentDatabaseError } from '../db/errors.js'
import { crashGuardOn } from '../db/runs-alone.js'
import { clearFailures, recordFailure } from '../db/failures.js'
import { Maintenance } from '../db/maintenance.js'
import { migrate } from '../db/migrate.js'
import { ping } from '../db/ping.js'
import { HealthGauges } from './health-gauges.js'
import { Forwarder, type ForwarderJournal, type ForwarderOptions } from '../forwarder/index.js'
import type { Logger } from '../log.js'
import { PermanentError } from '../permanent-error.js'
import { onceAsync, runAll } from '../util/once.js'
import { createPool, type WorkerPool } from '../../workers/pool.js'
import { brokerChoice } from './broker-choice.js'
import { HealthTracker, retryUntilUp } from './bring-up.js'
import { importLegacyDeadLetters } from './legacy-dead-letters.js'
import { brokerCheck, databaseCheck, dispatcherCheck, type Check } from './readiness.js'
import type { PipelineRunner } from './runner.js'
import type { AdminData } from '../model/admin-data.js'
import { pipelineAdminData } from './admin-data.js'
import { generateSecret } from '../outbound/sign.js'
import { loadSecretKey, SecretBox } from '../util/secret-box.js'
import { DISPATCHER_CONNECTIONS, type DispatcherTuning } from '../dispatcher/options.js'
import { dispatcherThread } from '../dispatcher/thread.js'
import { tellDispatcher } from '../dispatcher/first-leases.js'
import { orderingWatermark } from './watermark.js'
import { DispatcherOnDemand } from './dispatcher-on-demand.js'
import { outboundCounts } from '../dispatcher/outbound-counts.js'
import { reportThreadMetricsFrom } from '../metrics.js'
import type { EventTracer } from '../tracing/types.js'
import { tracePublisher, traceProcessor } from '../tracing/decorators.js'

export interface PipelineOptions {
  brokers?: BrokerOverrides
  forwarder?: ForwarderOptions
  consumer?: ConsumerOptions
  /** Database pool connections on the main thread (migrations, maintenance, ping). @defaultValue 2 */
  mainPoolSize?: number
  /** Delay between attempts while a permanent error lasts. @defaultValue 30000 */
  permanentRetryMs?: number
  /** Between two counts of the dead letters for sluice_dead_letters. @defaultValue 15000 */
  deadLetterCountMs?: number
  /** Knobs of the outbound dispatcher thread (tests, the benchmark). */
  dispatcher?: DispatcherTuning
  /** While no subscription exists, from the end of one look for one to the next. @defaultValue 1000 */
  dispatcherIdleCheckMs?: number
  /**
   * Makes the forward and store spans (tracing on). Set by the pipeline actor in its own thread
   * (a tracer does not cross threads). @defaultValue none: no spans
   */
  tracer?: EventTracer
}

/**
 * Everything behind the journal: forwarder -> broker -> consumer -> worker pool -> Postgres.
 * It comes up in the background and keeps retrying what is not reachable yet, because ingest
 * must not depend on it: a broker or database that is down at start only grows the backlog.
 */
export class Pipeline implements PipelineRunner {
  readonly broker: Broker
  readonly forwarder: Forwarder
  private database: Database | null = null
  private workers: WorkerPool | null = null
  private consumer: Consumer | null = null
  private maintenance: Maintenance | null = null
  private dispatcher: DispatcherOnDemand | null = null
  private readonly stop = new AbortController()
  private bringUp: Promise<void> | null = null
  private brokerStarted: Promise<void> | null = null
  private databaseState: 'starting' | 'migrating' | 'up' | 'down' = 'starting'
  private readonly brokerHealth: HealthTracker
  private readonly databaseHealth: HealthTracker
  /** The admin API's reads and actions on Postgres, once the database side is up. */
  readonly admin: AdminData
  private box: SecretBox | null = null

  constructor(
    private readonly config: Config,
    private readonly journal: ForwarderJournal,
    private readonly logger: Logger,
    private readonly options: PipelineOptions = {},
  ) {
    this.broker = createBroker(brokerChoice(config, options.brokers), logger)
    this.admin = pipelineAdminData(
      () =>
        this.database && this.workers
          ? { pool: this.database.pool, processor: this.storing(this.workers) }
          : null,
      { box: () => this.secretBox(), generate: generateSecret },
      {
        lanes: async () => (await this.dispatcher?.lanes()) ?? [],
        outbound: async () => (await this.dispatcher?.outbound()) ?? outboundCounts(undefined),
        wake: () => this.dispatcher?.wake(),
        subscribed: () => this.dispatcher?.subscribed(),
      },
    )
    this.brokerHealth = new HealthTracker('broker', logger.child({ component: 'broker' }))
    this.databaseHealth = new HealthTracker('database', logger.child({ component: 'db' }))
    const publisher = this.watchPermanent(this.broker)
    this.forwarder = new Forwarder(
      journal,
      options.tracer ? tracePublisher(publisher, options.tracer) : publisher,
      logger.child({ component: 'forwarder' }),
      { burstLagMs: config.SLUICE_BURST_LAG_MS, ...options.forwarder },
    )
  }

  /** The box of subscription secrets; its key is loaded (or created) on first use. */
  private secretBox(): SecretBox {
    if (!this.box) {
      const configured = this.config.SLUICE_SECRET_KEY
      // Structured clone into this thread turned the Buffer into a Uint8Array.
      const key = configured ? Buffer.from(configured) : undefined
      this.box = new SecretBox(loadSecretKey(key, this.config.SLUICE_DATA_DIR).key)
    }
    return this.box
  }

  /** Start bringing the pipeline up; returns at once. `ready()` resolves when all of it runs. */
  async start(): Promise<void> {
    this.gauges ??= this.startGauges()
    this.brokerStarted ??= this.retry('broker', () => this.broker.start()).then(() => {
      if (!this.stop.signal.aborted) void this.forwarder.start()
    })
    this.bringUp ??= Promise.all([this.brokerStarted, this.startDatabaseSide()]).then(
      () => undefined,
    )
    this.bringUp.catch((err: unknown) => {
      // Closing before everything came up is a normal stop, not an error.
      if (this.stop.signal.aborted) this.logger.debug({ err }, 'pipeline bring-up abandoned')
      else this.logger.error({ err }, 'pipeline bring-up stopped')
    })
  }

  /** Resolves once the broker, database, workers and consumer all run (for tests and tools). */
  async ready(): Promise<void> {
    await this.bringUp
  }

  notify(): void {
    this.forwarder.notify()
  }

  ingestPressure(busy: boolean): void {
    this.forwarder.setIngestBusy(busy)
  }

  /** Publishes through the broker, noting permanent errors (queue deleted, access revoked). */
  private watchPermanent(broker: Broker): Publisher {
    return {
      publish: async (events) => {
        try {
          const results = await broker.publish(events)
          this.brokerHealth.recovered()
          return results
        } catch (err) {
          if (err instanceof PermanentError) this.brokerHealth.failed(err)
          throw err
        }
      },
    }
  }

  private async startDatabaseSide(): Promise<void> {
    const db = await this.retry('database', () =>
      openDatabase({
        ...(this.config.DATABASE_URL ? { databaseUrl: this.config.DATABASE_URL } : {}),
        dataDir: this.config.SLUICE_DATA_DIR,
        poolSize: this.options.mainPoolSize ?? 2,
        extraConnections: this.config.SLUICE_WORKERS + DISPATCHER_CONNECTIONS,
        logger: this.logger.child({ component: 'db' }),
        signal: this.stop.signal,
      }),
    )
    this.database = db
    this.databaseState = 'migrating'
    await this.retry('migrations', () =>
      migrate(db.pool, this.logger.child({ component: 'migrate' })),
    )
    this.maintenance = new Maintenance({
      pool: db.pool,
      retentionDays: this.config.SLUICE_RETENTION_DAYS,
      logger: this.logger.child({ component: 'maintenance' }),
    })
    await this.retry('maintenance', () => this.maintenance!.start().then(() => undefined))
    this.databaseState = 'up'
    this.workers = createPool({
      connectionString: db.url,
      threads: this.config.SLUICE_WORKERS,
      preparedStatements: !db.embedded,
      // Stored by the consumer or a redrive alike: the dispatcher gets what was leased to it and
      // a wake for the rest.
      onStored: (notice) => tellDispatcher(notice, this.dispatcher),
    })
    // Outbound delivery: its own thread, with its own pool, once a subscription exists
    // (docs/outbound.md).
    const dispatchLog = this.logger.child({ component: 'dispatcher' })
    const watermark = () =>
      orderingWatermark({
        journal: this.journal,
        broker: this.broker,
        consumer: () => this.consumer,
      })
    this.dispatcher = new DispatcherOnDemand(
      db.pool,
      () =>
        dispatcherThread(this.config, db, dispatchLog, this.options.dispatcher, watermark, (o) =>
          this.workers?.offerLeases(o),
        ),
      dispatchLog,
      this.config.SLUICE_DISPATCHER_START === 'eager'
        ? 'eager'
        : this.options.dispatcherIdleCheckMs,
    )
    await this.dispatcher.start()
    reportThreadMetricsFrom(async () => (await this.dispatcher?.metrics()) ?? [])
    await this.brokerStarted
    if (this.stop.signal.aborted) return
    if (hasLegacyDeadLetters(this.broker)) {
      await importLegacyDeadLetters(this.broker, db.pool, this.logger)
    }
    this.consumer = new Consumer(
      {
        subscriber: this.broker,
        processor: this.storing(this.workers),
        deadLetters: { write: (letters) => writeDeadLetters(db.pool, letters) },
        databaseUp: async () => (await ping(db.pool, 2000)).ok,
        logger: this.logger.child({ component: 'consumer' }),
        failureLog: {
          record: (failures) => recordFailure(db.pool, failures),
          clear: (keys) => clearFailures(db.pool, keys),
        },
        health: this.databaseHealth,
        crashGuard: crashGuardOn(db.pool),
      },
      {
        concurrency: this.config.SLUICE_WORKERS,
        maxAttempts: this.config.SLUICE_MAX_ATTEMPTS,
        ...this.options.consumer,
      },
    )
    await this.consumer.start()
    this.logger.info(
      {
        broker: this.broker.name,
        workers: this.config.SLUICE_WORKERS,
        embeddedDatabase: db.embedded,
      },
      'pipeline running',
    )
  }

  /**
   * How events are stored, by the consumer and by a redrive alike: in the trace they carry (a
   * dead letter keeps its event's). The pool tells the dispatcher (onStored above).
   */
  private storing(workers: WorkerPool): BatchProcessor {
    return this.options.tracer ? traceProcessor(workers, this.options.tracer) : workers
  }

  private retry<T>(
    what: 'broker' | 'database' | 'migrations' | 'maintenance',
    fn: () => Promise<T>,
  ) {
    const isBroker = what === 'broker'
    return retryUntilUp(
      what,
      async () => {
        try {
          return await fn()
        } catch (err) {
          if (!isBroker) this.databaseState = 'down'
          throw err
        }
      },
      {
        signal: this.stop.signal,
        logger: this.logger,
        health: isBroker ? this.brokerHealth : this.databaseHealth,
        classify: isBroker ? () => null : permanentDatabaseError,
        permanentRetryMs: this.options.permanentRetryMs ?? 30_000,
      },
    )
  }

  /** /readyz checks; informative (they never turn /readyz into a 503: the journal holds events). */
  async readiness(): Promise<Record<string, Check>> {
    const [db, dispatcher] = await Promise.all([
      this.database ? ping(this.database.pool, 1000) : null,
      this.dispatcher?.health() ?? null,
    ])
    const consumer = this.consumer?.status()
    return {
      broker: brokerCheck(this.broker, this.forwarder.status(), this.brokerHealth.health()),
      database: databaseCheck({
        ping: db,
        consumer,
        state: this.databaseState,
        embedded: this.database?.embedded ?? !this.config.DATABASE_URL,
        health: this.databaseHealth.health(),
      }),
      dispatcher: dispatcherCheck(dispatcher),
    }
  }

  /** sluice_broker_up, sluice_database_up and sluice_dead_letters, from this pipeline's state. */
  private gauges: HealthGauges | null = null
  private startGauges(): HealthGauges {
    const gauges = new HealthGauges(
      {
        brokerUp: () => this.broker.state() === 'up' && this.brokerHealth.health().ok,
        databaseRunning: () =>
          this.databaseState === 'up' &&
          this.databaseHealth.health().ok &&
          this.consumer?.status().database !== 'down',
        pool: () => (this.databaseState === 'up' ? (this.database?.pool ?? null) : null),
      },
      this.logger.child({ component: 'metrics' }),
      { intervalMs: this.options.deadLetterCountMs },
    )
    gauges.start()
    return gauges
  }

  /** Shutdown order: forwarder, consumer (finishes and acks in-flight batches), workers, broker, database. */
  close = onceAsync(async () => {
    this.stop.abort()
    this.gauges?.close()
    // Let a bring-up step in progress finish (or give up), so whatever it opened gets closed.
    await this.bringUp?.catch(() => undefined)
    await runAll(
      [
        ['forwarder', () => this.forwarder.close()],
        ['consumer', () => this.consumer?.close()],
        ['worker pool', () => this.workers?.close()],
        ['dispatcher', () => this.dispatcher?.close()],
        ['broker', () => this.broker.close()],
        ['maintenance', () => this.maintenance?.close()],
        ['database', () => this.database?.close()],
      ],
      {
        ms: 2000,
        report: (step) => this.logger.warn({ step }, 'closing the pipeline: a step is slow'),
      },
    )
  })
}
