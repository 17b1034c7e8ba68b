import type pg from 'pg'
import type { BatchProcessor } from '../consumer/types.js'
import { DatabaseUnavailableError } from '../db/errors.js'
import { BatchUnavailable, storeBatch } from '../../workers/insert.js'

/**
 * The processing step of the worker threads, run on this thread: a one-shot command (a redrive)
 * has no worker pool, and its batches are small. Same code, same idempotent upsert. A batch the
 * database could not take (down, or refusing Sluice's writes as configured) rejects as the
 * worker pool's does, so a redrive fails on it instead of charging each letter for it.
 */
export function inProcessStore(pool: pg.Pool): BatchProcessor {
  return {
    run: async (events) => {
      try {
        return await storeBatch(pool, events)
      } catch (err) {
        if (!(err instanceof BatchUnavailable)) throw err
        throw new DatabaseUnavailableError(err.message, { cause: err })
      }
    },
  }
}
