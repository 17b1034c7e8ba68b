import type pg from 'pg'
import { isConnectionError, permanentSqlState, retryOnConflict } from '../src/db/errors.js'
import type { EventOutcome, EventResult, StorableEvent } from '../src/event.js'
import { detectType, headerTypes, mayBeJson, parseBody } from './parse.js'
import { dropNamesOn, preparesStatements } from '../src/db/prepared.js'
import { COLUMNS, insertSql } from './store-sql.js'
import { storableTraceparent } from '../src/util/traceparent.js'

/** The whole batch could not be written (connection or server trouble); nothing to ack. */
export class BatchUnavailable extends Error {
  override name = 'BatchUnavailable'
  /** The SQLSTATE when it is one an operator must fix (permanentSqlState), else undefined. */
  get sqlstate(): string | undefined {
    const code = (this.cause as { code?: unknown } | undefined)?.code
    return typeof code === 'string' && permanentSqlState(code, '') ? code : undefined
  }
}

// Rows per statement. The protocol counts parameters in 16 bits (65,535 at most); past ~1,000
// rows a bigger statement brings nothing (planning grows with it), so batches are split there.
const MAX_ROWS = 1000
// Statements of up to this many rows (the consumer's batch is 64) are prepared once per
// connection under a name and executed from then on: Postgres parses and plans the ~600
// parameter statement once instead of on every batch, which was about 40 % of its CPU per row
// (45 instead of 80 µs measured on 64-row batches of 5 KB events). Each plan stays in the
// backend's memory (about 0.5 MB for 64 rows), so batches are padded with all-NULL rows (skipped
// by the statement) up to a power of two: 7 plans per connection instead of 64 (+30 MB).
// Only on pools marked by usePreparedStatements (src/db/prepared.ts): not on the embedded
// database, whose connections share one backend, where a second connection preparing the same
// name fails (42P05) and the event would count a failed attempt.
const MAX_NAMED_ROWS = 64
const namedSize = (n: number) => 2 ** Math.ceil(Math.log2(n))

interface Row {
  key: string
  params: unknown[]
  hasPayload: boolean
  event: StorableEvent
  body: Buffer
}

// Parameter positions (0-based) of what checkedInJs and withoutPayload change.
const TYPE_FIRST = 2
const TYPE_FALLBACK = 3
const IS_JSON = 8

function toRow(e: StorableEvent): Row {
  // Rows without an id are the named statement's padding, skipped by it: a real event must
  // never look like one (the envelope codec guarantees both; this keeps it so).
  if (typeof e.id !== 'string' || e.id === '' || typeof e.source !== 'string') {
    throw new TypeError('an event needs a non-empty string id and a string source')
  }
  // Buffer.from over the same memory (no copy): pg sends Buffer parameters in binary format.
  const body = Buffer.isBuffer(e.body)
    ? e.body
    : Buffer.from(e.body.buffer, e.body.byteOffset, e.body.byteLength)
  const json = mayBeJson(body, e.contentType)
  const types = headerTypes(e.headers, e.verifiedBy)
  return {
    key: keyOf(e.source, e.id),
    hasPayload: json,
    event: e,
    body,
    params: [
      e.id,
      e.source,
      types.first,
      types.fallback,
      new Date(e.receivedAt).toISOString(),
      e.contentType,
      JSON.stringify(e.headers),
      body,
      json,
      e.verifiedBy,
      storableTraceparent(e.traceparent),
    ],
  }
}

/**
 * The row as JSON.parse sees its body: a payload only when it parses, and the type decided
 * here. For a batch Postgres refused, where one body that only looked like JSON (by its first
 * byte) must not cost the others their payloads or types.
 */
function checkedInJs(row: Row): Row {
  const parsed = parseBody(row.body, row.event.contentType)
  const params = row.params.slice()
  params[TYPE_FIRST] = detectType(row.event.headers, row.event.verifiedBy, parsed.value)
  params[TYPE_FALLBACK] = null
  params[IS_JSON] = parsed.json !== null
  return { ...row, params, hasPayload: parsed.json !== null }
}

const keyOf = (source: string, id: string) => `${source}\u0000${id}`

async function insertRows(pool: pg.Pool, rows: Row[]): Promise<Set<string>> {
  const params = rows.flatMap((r) => r.params)
  const keys = (res: pg.QueryResult<{ source: string; id: string }>) =>
    new Set(res.rows.map((r) => keyOf(r.source, r.id)))
  if (rows.length <= MAX_NAMED_ROWS && preparesStatements(pool)) {
    try {
      return keys(await pool.query(namedStatement(rows.length, params)))
    } catch (err) {
      // The name's trouble, not the events': from now on this pool's statements go unnamed.
      if (!dropNamesOn(pool, err)) throw err
    }
  }
  return keys(await pool.query({ text: insertSql(rows.length), values: params }))
}

function namedStatement(n: number, params: unknown[]) {
  const size = namedSize(n)
  // The padding rows: every column NULL (no id, so event_keys never sees them).
  const padded = params.concat(new Array<null>((size - n) * COLUMNS).fill(null))
  return { name: `sluice_store_${size}`, text: insertSql(size), values: padded }
}

/**
 * Write a batch with one multi-row statement (one transaction), idempotent on (source, id).
 * A data error retries the batch once with JSON.parse deciding which bodies are JSON
 * (checkedInJs), then isolates the bad events by retrying row by row (first without the JSON
 * payload, kept as bytes in `body` anyway), so one poison event does not fail the others. A
 * connection or server error throws BatchUnavailable: the caller retries the whole batch later.
 */
export async function storeBatch(pool: pg.Pool, events: StorableEvent[]): Promise<EventResult[]> {
  const rows: Row[] = []
  const firstOf = new Map<string, number>()
  const repeat: boolean[] = []
  // An event that cannot even become a row (e.g. an invalid receivedAt) fails alone.
  const invalid = new Map<number, EventOutcome>()
  const slot: number[] = events.map((e, i) => {
    let row: Row
    try {
      row = toRow(e)
    } catch (err) {
      invalid.set(i, {
        ok: false,
        permanent: true,
        error: `invalid event: ${(err as Error).message}`,
      })
      return -1
    }
    const seen = firstOf.get(row.key)
    repeat[i] = seen !== undefined
    if (seen !== undefined) return seen
    firstOf.set(row.key, rows.length)
    rows.push(row)
    return rows.length - 1
  })
  const inserted = new Set<string>()
  const outcome: EventOutcome[] = []
  try {
    await insertAll(pool, rows, inserted)
    rows.forEach((r, i) => (outcome[i] = { ok: true, inserted: inserted.has(r.key) }))
  } catch (err) {
    if (isConnectionError(err) || isSetupError(err)) throw unavailable(err)
    // Rows of chunks already committed are simply found as duplicates from here on.
    const checked = rows.map(checkedInJs)
    try {
      await insertAll(pool, checked, inserted)
      rows.forEach((r, i) => (outcome[i] = { ok: true, inserted: inserted.has(r.key) }))
    } catch (err) {
      if (isConnectionError(err) || isSetupError(err)) throw unavailable(err)
      for (const [i, row] of checked.entries()) {
        const alone = await insertAlone(pool, row)
        outcome[i] = alone.ok && inserted.has(row.key) ? { ok: true, inserted: true } : alone
      }
    }
  }
  const processedAt = Date.now()
  // A within-batch duplicate is reported like a redelivery: stored, not inserted again.
  return slot.map((s, i) => {
    const o = s < 0 ? invalid.get(i)! : outcome[s]!
    const result: EventOutcome = o.ok && repeat[i] ? { ok: true, inserted: false } : o
    return { ...result, processedAt }
  })
}

async function insertAll(pool: pg.Pool, rows: Row[], inserted: Set<string>): Promise<void> {
  // Same lock order in every batch: overlapping concurrent batches wait instead of deadlocking.
  const sorted = rows.slice().sort((a, b) => (a.key < b.key ? -1 : 1))
  // Very large batches are split into statements of MAX_ROWS (see there).
  for (let at = 0; at < sorted.length; at += MAX_ROWS) {
    const chunk = sorted.slice(at, at + MAX_ROWS)
    for (const key of await retryOnConflict(() => insertRows(pool, chunk))) inserted.add(key)
  }
}

async function insertAlone(pool: pg.Pool, row: Row): Promise<EventOutcome> {
  let last: unknown
  for (const variant of row.hasPayload ? [row, withoutPayload(row)] : [row]) {
    try {
      const inserted = await retryOnConflict(() => insertRows(pool, [variant]))
      return { ok: true, inserted: inserted.has(row.key) }
    } catch (err) {
      if (isConnectionError(err) || isSetupError(err)) throw unavailable(err)
      last = err
      // Only a data error can be jsonb refusing the payload. After any other (a trigger
      // raising, a lock timeout) the event must not be stored without its payload: its
      // ordering key and its subscriptions' filters come from it. It fails this attempt instead.
      if (!sqlState(err).startsWith('22')) break
    }
  }
  const code = (last as { code?: string }).code
  // Only the event's own data can make it fail forever: data exceptions (22) and integrity
  // violations (23). Anything else (a trigger raising, a missing privilege, a full disk) may be
  // fixed by an operator, so it counts as an attempt and is retried with growing delays.
  const permanent = code !== undefined && (code.startsWith('22') || code.startsWith('23'))
  return { ok: false, permanent, error: `${code ?? 'error'}: ${(last as Error).message}` }
}

// Postgres' jsonb is stricter than JSON.parse (e.g. \u0000, lone surrogates): store the event
// with a null payload rather than lose it; the exact bytes are in `body`.
function withoutPayload(row: Row): Row {
  const params = row.params.slice()
  params[IS_JSON] = false
  return { ...row, params, hasPayload: false }
}

const sqlState = (err: unknown) => {
  const code = (err as { code?: unknown }).code
  return typeof code === 'string' ? code : ''
}

// A missing privilege or table fails every event alike: no event should spend an attempt on it.
const isSetupError = (err: unknown) => permanentSqlState(sqlState(err), '') !== null

function unavailable(err: unknown): BatchUnavailable {
  return new BatchUnavailable(`database unavailable: ${(err as Error).message}`, { cause: err })
}
