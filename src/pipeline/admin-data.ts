import type pg from 'pg'
import type { AdminData, DeadLetterItem } from '../admin/data.js'
import { redriveDeadLetters } from '../consumer/redrive.js'
import type { BatchProcessor } from '../consumer/types.js'
import { listDeadLetters } from '../db/dead-letters.js'
import { getEvent, listEvents } from '../db/events.js'
import { SluiceError } from '../errors.js'
import { eventsProcessed } from '../metrics.js'

/** The pool and the workers' processing step, once the database side of the pipeline is up. */
export interface DatabaseSide {
  pool: pg.Pool
  processor: BatchProcessor
}

/** AdminData over the pipeline's own database pool and worker pool (runs in its thread). */
export function pipelineAdminData(side: () => DatabaseSide | null): AdminData {
  const up = (): DatabaseSide => {
    const s = side()
    if (!s) throw new SluiceError('pipeline_unavailable')
    return s
  }
  return {
    listEvents: (q) => listEvents(up().pool, q),
    getEvent: ({ source, id }) => getEvent(up().pool, source, id),
    async listDeadLetters(q) {
      const letters = await listDeadLetters(up().pool, {
        limit: q.limit,
        ...(q.source !== undefined ? { keys: [{ source: q.source }] } : {}),
        ...(q.after ? { after: { ...q.after, lastFailedAt: new Date(q.after.lastFailedAt) } } : {}),
      })
      return letters.map((l): DeadLetterItem => ({
        source: l.event.source,
        id: l.event.id,
        reason: l.reason,
        attempts: l.attempts,
        lastError: l.lastError,
        firstFailedAt: l.firstFailedAt.toISOString(),
        lastFailedAt: l.lastFailedAt.toISOString(),
        receivedAt: new Date(l.event.receivedAt).toISOString(),
        contentType: l.event.contentType,
        bytes: l.event.body.byteLength,
      }))
    },
    async countDeadLetters() {
      const { rows } = await up().pool.query<{ n: string }>(
        'SELECT count(*) AS n FROM dead_letters',
      )
      return Number(rows[0]?.n ?? 0)
    },
    async redrive(keys) {
      const s = up()
      const r = await redriveDeadLetters(s.pool, s.processor, keys)
      return { count: r.redriven, failed: r.failed }
    },
    async counts() {
      const by = new Map(
        (await eventsProcessed.get()).values.map((v) => [v.labels.outcome, v.value]),
      )
      return {
        stored: (by.get('stored') ?? 0) + (by.get('duplicate') ?? 0),
        failed: by.get('dead_lettered') ?? 0,
      }
    },
  }
}
