import { createBroker, type Broker, type BrokerOverrides } from './brokers/index.js'
import type { Config } from './config.js'
import { Consumer, type ConsumerOptions } from './consumer/index.js'
import { openDatabase, type Database } from './db/database.js'
import { clearFailures, recordFailure } from './db/failures.js'
import { Maintenance } from './db/maintenance.js'
import { migrate } from './db/migrate.js'
import { ping } from './db/ping.js'
import { createPool, type WorkerPool } from './db/worker-pool.js'
import { Forwarder, type ForwarderJournal, type ForwarderOptions } from './forwarder/index.js'
import type { Logger } from './log.js'
import { backoffDelay, sleep } from './util/backoff.js'
import { onceAsync, runAll } from './util/once.js'

export interface PipelineOptions {
  brokers?: BrokerOverrides
  forwarder?: ForwarderOptions
  consumer?: ConsumerOptions
  /** Database pool connections on the main thread (migrations, maintenance, ping). @defaultValue 2 */
  mainPoolSize?: number
}

type Check = { ok: boolean; [k: string]: unknown }

/**
 * Everything behind the journal: forwarder -> broker -> consumer -> worker pool -> Postgres.
 * It comes up in the background and keeps retrying what is not reachable yet, because ingest
 * must not depend on it: a broker or database that is down at start only grows the backlog.
 */
export class Pipeline {
  readonly broker: Broker
  readonly forwarder: Forwarder
  private database: Database | null = null
  private workers: WorkerPool | null = null
  private consumer: Consumer | null = null
  private maintenance: Maintenance | null = null
  private readonly stop = new AbortController()
  private bringUp: Promise<void> | null = null
  private brokerStarted: Promise<void> | null = null
  private databaseState: 'starting' | 'migrating' | 'up' | 'down' = 'starting'

  constructor(
    private readonly config: Config,
    private readonly journal: ForwarderJournal,
    private readonly logger: Logger,
    private readonly options: PipelineOptions = {},
  ) {
    this.broker = createBroker(config, logger, options.brokers)
    this.forwarder = new Forwarder(
      journal,
      this.broker,
      logger.child({ component: 'forwarder' }),
      options.forwarder,
    )
  }

  /** Start bringing the pipeline up; returns at once. `ready()` resolves when all of it runs. */
  start(): void {
    this.brokerStarted ??= this.retry('broker', () => this.broker.start()).then(() => {
      if (!this.stop.signal.aborted) this.forwarder.start()
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

  private async startDatabaseSide(): Promise<void> {
    const db = await this.retry('database', () =>
      openDatabase({
        ...(this.config.DATABASE_URL ? { databaseUrl: this.config.DATABASE_URL } : {}),
        dataDir: this.config.SLUICE_DATA_DIR,
        poolSize: this.options.mainPoolSize ?? 2,
        extraConnections: this.config.SLUICE_WORKERS,
        logger: this.logger.child({ component: 'db' }),
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
    await this.retry('maintenance', () => this.maintenance!.start())
    this.databaseState = 'up'
    this.workers = createPool({ connectionString: db.url, threads: this.config.SLUICE_WORKERS })
    await this.brokerStarted
    if (this.stop.signal.aborted) return
    this.consumer = new Consumer(
      this.broker,
      this.workers,
      async () => (await ping(db.pool, 2000)).ok,
      this.logger.child({ component: 'consumer' }),
      {
        concurrency: this.config.SLUICE_WORKERS,
        maxAttempts: this.config.SLUICE_MAX_ATTEMPTS,
        ...this.options.consumer,
      },
      {
        record: (failures) => recordFailure(db.pool, failures),
        clear: (keys) => clearFailures(db.pool, keys),
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

  /** Run `fn` until it succeeds, backing off with jitter; gives up only when closing. */
  private async retry<T>(what: string, fn: () => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      if (this.stop.signal.aborted) throw new Error(`${what}: not started, pipeline closing`)
      try {
        return await fn()
      } catch (err) {
        if (what === 'database' || what === 'migrations') this.databaseState = 'down'
        const delay = backoffDelay(attempt, 500, 15000)
        this.logger.warn({ err, retryInMs: delay }, `${what} not available yet; retrying`)
        await sleep(delay, this.stop.signal)
      }
    }
  }

  /** /readyz checks: informative only (ok stays true) because ingest works without them. */
  async readiness(): Promise<Record<string, Check>> {
    const forwarder = this.forwarder.status()
    const consumer = this.consumer?.status()
    const db = this.database ? await ping(this.database.pool, 1000) : null
    return {
      broker: {
        ok: true,
        name: this.broker.name,
        state: this.broker.state(),
        forwarder: forwarder.state,
        consecutiveFailures: forwarder.consecutiveFailures,
        lastError: forwarder.lastError,
      },
      database: {
        ok: true,
        state: db ? (db.ok && consumer?.database !== 'down' ? 'up' : 'down') : this.databaseState,
        embedded: this.database?.embedded ?? !this.config.DATABASE_URL,
        ...(db?.error ? { error: db.error } : {}),
        consuming: consumer !== undefined,
      },
    }
  }

  /** Shutdown order: forwarder, consumer (finishes and acks in-flight batches), workers, broker, database. */
  close = onceAsync(async () => {
    this.stop.abort()
    // Let a bring-up step in progress finish (or give up), so whatever it opened gets closed.
    await this.bringUp?.catch(() => undefined)
    await runAll([
      ['forwarder', () => this.forwarder.close()],
      ['consumer', () => this.consumer?.close()],
      ['worker pool', () => this.workers?.close()],
      ['broker', () => this.broker.close()],
      ['maintenance', () => this.maintenance?.close()],
      ['database', () => this.database?.close()],
    ])
  })
}
