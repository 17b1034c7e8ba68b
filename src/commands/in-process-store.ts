import type pg from 'pg'
import type { BatchProcessor } from '../consumer/types.js'
import { storeBatch } from '../../workers/insert.js'

/**
 * The processing step of the worker threads, run on this thread: a one-shot command (a redrive)
 * has no worker pool, and its batches are small. Same code, same idempotent upsert.
 */
export function inProcessStore(pool: pg.Pool): BatchProcessor {
  return { run: (events) => storeBatch(pool, events) }
}
