import { availableParallelism } from 'node:os'
import { Piscina } from 'piscina'
import type { Component } from '../src/component.js'
import { DatabaseUnavailableError, StoreClosedError, permanentSqlState } from '../src/db/errors.js'
import { PermanentError } from '../src/permanent-error.js'
import { runningFromSources } from '../src/util/package-root.js'
import type { EventResult, StorableEvent } from '../src/event.js'
import { packBodies } from '../src/util/packed-bodies.js'
import type { StoreBatchResult, StoreBatchTask, WorkerData } from './store-batch.js'
import { handOver, type LeaseOffer, type StoredNotice } from '../src/dispatcher/first-leases.js'

export interface WorkerPoolOptions {
  /** PostgreSQL connection string every worker thread connects to. */
  connectionString: string
  /** Worker threads (SLUICE_WORKERS). @defaultValue availableParallelism() */
  threads?: number
  /**
   * pg connections per thread. One is enough: a thread runs one batch at a time.
   * @defaultValue 1
   */
  connectionsPerThread?: number
  /** Batches waiting for a free thread before run() rejects. @defaultValue Infinity */
  maxQueue?: number
  /**
   * Store with named statements (parsed once per connection). Only where each connection has
   * a backend of its own: not on the embedded database (src/db/prepared.ts). @defaultValue false
   */
  preparedStatements?: boolean
  /** Called after each stored batch (the dispatcher's hand-over and wake). */
  onStored?: (notice: StoredNotice) => void
}

const defaults = Object.freeze({
  threads: availableParallelism(),
  connectionsPerThread: 1,
  maxQueue: Infinity,
  preparedStatements: false,
})

/** How long a thread stays without a batch before it ends. */
const IDLE_THREAD_MS = 30_000

// Under tap the sources run through its TypeScript loader, which worker threads inherit via
// execArgv, so the .ts task module loads; the build runs dist/workers/store-batch.js.
const workerFile = new URL(`./store-batch.${runningFromSources ? 'ts' : 'js'}`, import.meta.url)
  .href

/**
 * The Piscina pool that writes batches to Postgres from worker threads (`workers/`).
 * Contract: run() resolves with one EventResult per event, in order, once the batch's commit is
 * done (ack those with ok), or rejects with DatabaseUnavailableError when the database could
 * not be reached, or with PermanentError when it refuses Sluice's writes as configured (a
 * missing privilege or table, a read-only standby). Either way: ack nothing, retry later, no
 * attempt is counted against the events.
 */
export class WorkerPool implements Component {
  readonly threads: number
  private readonly piscina: Piscina<StoreBatchTask, StoreBatchResult>
  private closing: Promise<void> | null = null
  private inFlight = 0
  private offer: LeaseOffer | null = null
  private readonly onStored: ((notice: StoredNotice) => void) | undefined

  constructor(options: WorkerPoolOptions) {
    const o = { ...defaults, ...options }
    if (typeof o.connectionString !== 'string' || o.connectionString === '') {
      throw new TypeError('options.connectionString must be a PostgreSQL connection string')
    }
    if (!Number.isInteger(o.threads) || o.threads < 1) {
      throw new TypeError('options.threads must be a positive integer')
    }
    if (!Number.isInteger(o.connectionsPerThread) || o.connectionsPerThread < 1) {
      throw new TypeError('options.connectionsPerThread must be a positive integer')
    }
    if (!(o.maxQueue === Infinity || (Number.isInteger(o.maxQueue) && o.maxQueue >= 0))) {
      throw new TypeError('options.maxQueue must be a non-negative integer or Infinity')
    }
    this.threads = o.threads
    this.onStored = o.onStored
    const workerData: WorkerData = {
      connectionString: o.connectionString,
      connectionsPerThread: o.connectionsPerThread,
      preparedStatements: o.preparedStatements,
    }
    this.piscina = new Piscina({
      filename: workerFile,
      // Threads start when batches queue for them and end after IDLE_THREAD_MS without one:
      // each idle thread held about 10 MB (its isolate, pg client), and an engine that has
      // nothing to store keeps none. The first batch after a quiet spell waits for a thread to
      // start (tens of milliseconds from dist/).
      minThreads: 0,
      maxThreads: o.threads,
      idleTimeout: IDLE_THREAD_MS,
      maxQueue: o.maxQueue,
      concurrentTasksPerWorker: 1,
      workerData,
    })
  }

  /** Store one batch (WebhookEvents; bodies as Buffer or Uint8Array); see the class contract. */
  async run(events: StorableEvent[]): Promise<EventResult[]> {
    if (this.closing) throw new StoreClosedError('worker pool is closed')
    if (events.length === 0) return []
    this.inFlight++
    let res: StoreBatchResult
    const offer = this.takeOffer()
    const takenAt = Date.now()
    try {
      // The bodies are moved to the thread in one buffer; `events` keeps its own, so a batch
      // that fails can be run again (or split to isolate a poison event).
      const task: StoreBatchTask = offer ? { ...packBodies(events), offer } : packBodies(events)
      res = await this.piscina.run(task, { transferList: [task.bodies] })
    } finally {
      this.inFlight--
    }
    if (!res.ok) {
      const permanent = res.sqlstate ? permanentSqlState(res.sqlstate, res.unavailable) : null
      if (permanent) {
        throw new PermanentError(permanent.code, permanent.message, permanent.hint)
      }
      throw new DatabaseUnavailableError(res.unavailable)
    }
    this.onStored?.({
      handed:
        offer && res.leased.length > 0 ? handOver(offer.owner, takenAt, res.leased, events) : null,
      unleased: offer ? res.unleased : null,
      inserted: res.results.some((r) => r.ok && r.inserted),
    })
    return res.results
  }

  /**
   * The dispatcher's current lease offer (null: none, the dispatcher stopped). The next batch
   * takes it and no other does: two batches leasing from one offer would lease twice its room.
   */
  offerLeases(offer: LeaseOffer | null): void {
    this.offer = offer
  }

  private takeOffer(): LeaseOffer | null {
    const offer = this.offer
    this.offer = null
    return offer && offer.validUntil > Date.now() ? offer : null
  }

  /** Batches queued or running (for back-pressure in the consumer). */
  get pending(): number {
    return this.inFlight
  }

  /** Threads start on demand; nothing to wait for. */
  async start(): Promise<void> {}

  /** Wait for running batches, then stop the threads (their pg sockets close with them). */
  close(): Promise<void> {
    this.closing ??= this.piscina.close()
    return this.closing
  }
}

/** Build the worker pool (`SLUICE_WORKERS` threads). */
export function createPool(options: WorkerPoolOptions): WorkerPool {
  return new WorkerPool(options)
}
