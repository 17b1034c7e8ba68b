import { randomUUID } from 'node:crypto'
import { join } from 'node:path'
import { mkdirSync } from 'node:fs'
import Database from 'better-sqlite3'
import type { WebhookEvent } from '../../event.js'
import type { LegacyDeadLetter } from '../types.js'
import { addColumnIfMissing } from '../../util/sqlite-columns.js'

/**
 * The local queue's SQLite file. Every method is one statement or one IMMEDIATE transaction, so
 * several processes (or several brokers in one process) may share the file: WAL lets readers
 * run beside the single writer, and busy_timeout queues writers instead of failing them.
 *
 * A row in `messages` is ready when available_at <= now. Leasing sets available_at to the lease
 * expiry and bumps attempts; a crashed holder's lease simply runs out and the row is ready again.
 */
const schema = `
CREATE TABLE IF NOT EXISTS messages (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL, source TEXT NOT NULL, received_at INTEGER NOT NULL,
  content_type TEXT NOT NULL, headers TEXT NOT NULL, verified_by TEXT, body BLOB NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0, available_at INTEGER NOT NULL,
  lease TEXT,
  traceparent TEXT
);
CREATE INDEX IF NOT EXISTS messages_ready ON messages (available_at, seq);
CREATE INDEX IF NOT EXISTS messages_received ON messages (received_at);
`

const COLS = 'id, source, received_at, content_type, headers, verified_by, body'

interface EventRow {
  seq: number
  id: string
  source: string
  received_at: number
  content_type: string
  headers: string
  verified_by: string | null
  body: Buffer
  attempts: number
  /** messages only (tracing on at receipt); the legacy `dead` table has no such column. */
  traceparent?: string | null
}

export interface Leased {
  seq: number
  lease: string
  attempt: number
  event: WebhookEvent
}

function toEvent(r: EventRow): WebhookEvent {
  const event: WebhookEvent = {
    id: r.id,
    source: r.source,
    receivedAt: r.received_at,
    contentType: r.content_type,
    headers: JSON.parse(r.headers) as Record<string, string>,
    body: r.body,
    verifiedBy: r.verified_by,
  }
  // Set only when present: no spread object per event.
  if (typeof r.traceparent === 'string') event.traceparent = r.traceparent
  return event
}

export class QueueStore {
  private readonly db: Database.Database
  // Prepared once: better-sqlite3 compiles the SQL again on every prepare().
  private readonly inserting: Database.Statement
  private readonly selecting: Database.Statement<[number, number], EventRow>
  private readonly taking: Database.Statement
  private readonly deleting: Database.Statement
  private readonly wal: boolean

  constructor(
    dataDir: string,
    private readonly synchronous: 'full' | 'normal',
  ) {
    mkdirSync(dataDir, { recursive: true })
    this.db = new Database(join(dataDir, 'queue.db'))
    // Commits without fsync are safe only in WAL mode (in order, never torn): see unsynced().
    this.wal = this.db.pragma('journal_mode = WAL', { simple: true }) === 'wal'
    this.db.pragma(`synchronous = ${synchronous}`)
    this.db.pragma('busy_timeout = 5000')
    this.db.exec(schema)
    // Queue files written before tracing: the column is added, nullable.
    addColumnIfMissing(this.db, 'messages', 'traceparent', 'TEXT')
    this.inserting = this.db.prepare(
      `INSERT INTO messages (${COLS}, available_at, traceparent) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    )
    this.selecting = this.db.prepare(
      `SELECT seq, ${COLS}, traceparent, attempts FROM messages
       WHERE available_at <= ? ORDER BY available_at, seq LIMIT ?`,
    )
    this.taking = this.db.prepare(
      'UPDATE messages SET attempts = attempts + 1, available_at = ?, lease = ? WHERE seq = ?',
    )
    this.deleting = this.db.prepare('DELETE FROM messages WHERE seq = ?')
  }

  /**
   * Runs `commit` without waiting for the disk. For leases and acks only: one that a power loss
   * takes back delivers its message again, which the consumer's idempotent store absorbs
   * (at-least-once). The insert, which the forwarder's mark of a journal entry relies on, still
   * waits; in WAL mode its fsync also makes every earlier commit durable, in order.
   */
  private unsynced<T>(commit: () => T): T {
    if (this.synchronous === 'normal' || !this.wal) return commit()
    // Not prepared once: SQLite applies a synchronous pragma when it compiles the statement.
    this.db.pragma('synchronous = NORMAL')
    try {
      return commit()
    } finally {
      this.db.pragma('synchronous = FULL')
    }
  }

  /**
   * The receipt time of the oldest message not yet acked (in the queue, or leased); null: none.
   * By receipt, not by seq: after a failed publish the forwarder sends entries again, so seq
   * order is not always receipt order.
   */
  oldestReceivedAt(): number | null {
    const row = this.db.prepare('SELECT min(received_at) AS at FROM messages').get() as {
      at: number | null
    }
    return row.at
  }

  insert(events: readonly WebhookEvent[], now: number): void {
    const stmt = this.inserting
    this.db
      .transaction(() => {
        for (const e of events) {
          stmt.run(
            e.id,
            e.source,
            e.receivedAt,
            e.contentType,
            JSON.stringify(e.headers),
            e.verifiedBy,
            e.body,
            now,
            e.traceparent ?? null,
          )
        }
      })
      .immediate()
  }

  /**
   * Lease up to `limit` ready messages; each lease counts as a delivery (attempts + 1), so a
   * message whose holders keep dying shows a growing attempt count to the consumer.
   */
  lease(limit: number, now: number, leaseMs: number): Leased[] {
    return this.unsynced(() =>
      this.db
        .transaction(() =>
          this.selecting.all(now, limit).map((row) => {
            const lease = randomUUID()
            this.taking.run(now + leaseMs, lease, row.seq)
            return { seq: row.seq, lease, attempt: row.attempts + 1, event: toEvent(row) }
          }),
        )
        .immediate(),
    )
  }

  /** Push the expiry of held leases forward; returns how many are still held. */
  extend(leases: readonly string[], until: number): number {
    const stmt = this.db.prepare('UPDATE messages SET available_at = ? WHERE lease = ?')
    return this.db.transaction(() => leases.reduce((n, l) => n + stmt.run(until, l).changes, 0))()
  }

  /** Effects are committed, so the messages go whatever lease they are under now. One commit. */
  ack(seqs: readonly number[]): void {
    this.unsynced(() => this.db.transaction(() => seqs.forEach((seq) => this.deleting.run(seq)))())
  }

  /** Returns false when the lease was lost (expired and taken by another consumer). */
  retry(seq: number, lease: string, availableAt: number): boolean {
    return (
      this.db
        .prepare('UPDATE messages SET available_at = ?, lease = NULL WHERE seq = ? AND lease = ?')
        .run(availableAt, seq, lease).changes === 1
    )
  }

  /**
   * Dead letters a 0.1 queue file kept in its `dead` table, oldest first; `remove` deletes the
   * ones handed over. The table is dropped once empty, so later starts skip this at once.
   */
  legacyDead(limit: number): (LegacyDeadLetter & { seq: number })[] {
    const exists = this.db
      .prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'dead'")
      .get()
    if (!exists) return []
    const rows = this.db
      .prepare<[number], EventRow & { last_error: string | null }>(
        `SELECT seq, ${COLS}, attempts, last_error FROM dead ORDER BY seq LIMIT ?`,
      )
      .all(limit)
    if (rows.length === 0) this.db.exec('DROP TABLE dead')
    return rows.map((r) => ({
      seq: r.seq,
      event: toEvent(r),
      attempts: r.attempts,
      error: r.last_error ?? 'dead-lettered by Sluice 0.1',
      malformed: false,
    }))
  }

  removeLegacyDead(seqs: readonly number[]): void {
    const stmt = this.db.prepare('DELETE FROM dead WHERE seq = ?')
    this.db.transaction(() => seqs.forEach((seq) => stmt.run(seq)))()
  }

  /** Make leases ready again now (a closing consumer hands its deliveries back). */
  release(leases: readonly string[], now: number): void {
    const stmt = this.db.prepare(
      'UPDATE messages SET available_at = ?, lease = NULL WHERE lease = ?',
    )
    this.db.transaction(() => leases.forEach((l) => stmt.run(now, l)))()
  }

  /** Messages waiting, whatever their lease or delay (`sluice queue drain`, the start check). */
  count(): number {
    return (this.db.prepare('SELECT count(*) AS n FROM messages').get() as { n: number }).n
  }

  /**
   * Messages in insertion order after `afterSeq`, ignoring leases and delays: for a process that
   * holds the data directory and moves the whole queue elsewhere (`sluice queue drain`).
   */
  page(afterSeq: number, limit: number): { seq: number; event: WebhookEvent }[] {
    return this.db
      .prepare<[number, number], EventRow>(
        `SELECT seq, ${COLS}, traceparent, attempts FROM messages WHERE seq > ? ORDER BY seq LIMIT ?`,
      )
      .all(afterSeq, limit)
      .map((row) => ({ seq: row.seq, event: toEvent(row) }))
  }

  close(): void {
    this.db.close()
  }
}
