/**
 * Piscina task module: one call stores one batch. Each worker thread keeps its own small pg
 * pool (one connection by default: Piscina runs one task per thread at a time), created on the
 * first task from the connection string in the pool's workerData.
 */
import pg from 'pg'
import { workerData } from 'piscina'
import type { EventResult, StorableEvent } from '../src/event.js'
import { BatchUnavailable, storeBatchLeasing } from './insert.js'
import { nameThread } from '../src/actors/thread-self.js'
import { usePreparedStatements } from '../src/db/prepared.js'
import { unpackBodies, type PackedBodies } from '../src/util/packed-bodies.js'
import type { LeaseOffer, StoreLeased } from '../src/dispatcher/first-leases.js'

nameThread('sluice-worker')

/**
 * One batch: the events' metadata, and their bodies in one buffer moved to this thread; with
 * the dispatcher's lease offer when it made one (src/dispatcher/first-leases.ts).
 */
export type StoreBatchTask = PackedBodies<StorableEvent> & { offer?: LeaseOffer }

/**
 * Either every event's outcome and the deliveries leased to the offer's owner, or "the database
 * is unavailable, retry the whole batch".
 */
export type StoreBatchResult =
  | { ok: true; results: EventResult[]; leased: StoreLeased[]; unleased: number }
  | { ok: false; unavailable: string; sqlstate?: string }

export interface WorkerData {
  connectionString: string
  connectionsPerThread: number
  /** Each connection has a backend of its own (not the embedded database): name statements. */
  preparedStatements: boolean
}

let pool: pg.Pool | null = null

function threadPool(): pg.Pool {
  if (pool) return pool
  const data = workerData as WorkerData
  pool = new pg.Pool({
    connectionString: data.connectionString,
    max: data.connectionsPerThread,
    // Idle connections are closed after a while so an idle engine holds no sessions open.
    idleTimeoutMillis: 30_000,
    connectionTimeoutMillis: 10_000,
  })
  // An idle client losing its server must not crash the thread; the next query reconnects.
  pool.on('error', () => {})
  if (data.preparedStatements) usePreparedStatements(pool)
  return pool
}

// Results cross the thread boundary by structured clone, which drops custom error classes,
// so "unavailable" travels as data and workers/pool.ts turns it back into an error.
export default async function storeBatchTask(task: StoreBatchTask): Promise<StoreBatchResult> {
  try {
    const { offer, ...packed } = task
    const stored = await storeBatchLeasing(
      threadPool(),
      unpackBodies<StorableEvent>(packed),
      offer ?? null,
    )
    return { ok: true, ...stored }
  } catch (err) {
    if (err instanceof BatchUnavailable) {
      const { sqlstate } = err
      return { ok: false, unavailable: err.message, ...(sqlstate ? { sqlstate } : {}) }
    }
    throw err
  }
}
