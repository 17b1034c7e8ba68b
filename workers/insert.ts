import type pg from 'pg'
import { isConnectionError, permanentSqlState, retryOnConflict } from '../src/db/errors.js'
import type { EventOutcome, EventResult, StorableEvent } from '../src/event.js'
import { detectType, headerTypes, mayBeJson, parseBody } from './parse.js'
import { nestedDeeperThan } from '../src/util/json-depth.js'
import { dropNamesOn, preparesStatements } from '../src/db/prepared.js'
import { COLUMNS, insertSql } from './store-sql.js'
import { storableTraceparent } from '../src/util/traceparent.js'
import type { LeaseOffer, StoreLeased } from '../src/dispatcher/first-leases.js'
import { unstoredRows } from './confirm-stored.js'

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

// JSON nested deeper than this is stored without a jsonb payload (its type still comes from
// JSON.parse, its bytes are in `body`). The embedded database (PGlite 0.5) answered a store
// statement whose body nested 30,000 levels with no rows and no error, so its events would have
// looked stored already and been acked unstored, and then stopped answering; 10,000 it stored.
// Postgres refuses 100,000 (54001, stack depth limit exceeded). Webhook payloads nest a few
// dozen levels.
const MAX_JSONB_DEPTH = 3000

interface Row {
  /** The event's index in the batch (its first occurrence's, for a repeated one). */
  index: number
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

function toRow(e: StorableEvent, index: number): Row {
  const row = asRow(e, index)
  return row.hasPayload && nestedDeeperThan(row.body, MAX_JSONB_DEPTH)
    ? withoutPayload(checkedInJs(row))
    : row
}

function asRow(e: StorableEvent, index: number): Row {
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
    index,
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

/** What the store statements of one batch did: events inserted, and deliveries leased (offer). */
interface Stored {
  readonly inserted: Set<string>
  /** Leased deliveries, by the key of their event. */
  readonly leased: { key: string; id: string; subscriptionId: string }[]
  /** Deliveries made without a lease (only counted when an offer was given). */
  unleased: number
}

interface StoreRow {
  source: string | null
  id: string | null
  delivery?: string | null
  subscription?: string | null
  unleased?: number | null
}

async function insertRows(
  pool: pg.Pool,
  rows: Row[],
  offer: LeaseOffer | null,
  into: Stored,
): Promise<void> {
  const params = rows.flatMap((r) => r.params)
  const lease = offer
    ? [offer.owner, Math.round(offer.leaseMs), offer.subscriptions, roomsLeft(offer, into)]
    : []
  let res: pg.QueryResult<StoreRow> | null = null
  if (rows.length <= MAX_NAMED_ROWS && preparesStatements(pool)) {
    try {
      res = await pool.query<StoreRow>(namedStatement(rows.length, params, lease))
    } catch (err) {
      // The name's trouble, not the events': from now on this pool's statements go unnamed.
      if (!dropNamesOn(pool, err)) throw err
    }
  }
  res ??= await pool.query<StoreRow>({
    text: insertSql(rows.length, offer !== null),
    values: params.concat(lease),
  })
  // Collected only once the statement committed: a retried one (retryOnConflict) adds nothing twice.
  for (const r of res.rows) {
    if (typeof r.unleased === 'number') into.unleased += r.unleased
    else if (r.delivery && r.subscription) {
      into.leased.push({
        key: keyOf(r.source!, r.id!),
        id: r.delivery,
        subscriptionId: r.subscription,
      })
    } else into.inserted.add(keyOf(r.source!, r.id!))
  }
}

/**
 * The offer's rooms less what earlier statements of the batch leased (its chunks, its retries
 * row by row): the room is the batch's, not each statement's.
 */
function roomsLeft(offer: LeaseOffer, stored: Stored): number[] {
  if (stored.leased.length === 0) return offer.rooms.slice()
  const used = new Map<string, number>()
  for (const d of stored.leased) used.set(d.subscriptionId, (used.get(d.subscriptionId) ?? 0) + 1)
  return offer.subscriptions.map((id, i) => Math.max(0, offer.rooms[i]! - (used.get(id) ?? 0)))
}

function namedStatement(n: number, params: unknown[], lease: unknown[]) {
  const size = namedSize(n)
  // The padding rows: every column NULL (no id, so event_keys never sees them).
  const padded = params.concat(new Array<null>((size - n) * COLUMNS).fill(null), lease)
  const leasing = lease.length > 0
  const name = `sluice_store_${leasing ? 'l' : ''}${size}`
  return { name, text: insertSql(size, leasing), values: padded }
}

/**
 * Write a batch with one multi-row statement (one transaction), idempotent on (source, id).
 * A data error retries the batch once with JSON.parse deciding which bodies are JSON
 * (checkedInJs), then isolates the bad events by retrying row by row (first without the JSON
 * payload, kept as bytes in `body` anyway), so one poison event does not fail the others. A
 * connection or server error throws BatchUnavailable: the caller retries the whole batch later.
 */
export async function storeBatch(pool: pg.Pool, events: StorableEvent[]): Promise<EventResult[]> {
  return (await storeBatchLeasing(pool, events, null)).results
}

/** A stored batch, and the deliveries its statements leased to the offering dispatcher. */
export interface StoredBatch {
  results: EventResult[]
  leased: StoreLeased[]
  /** Deliveries made without a lease: the dispatchers' claims still have work. */
  unleased: number
}

/**
 * storeBatch, with `offer` (null: none) going to each store statement: the deliveries it leased
 * are returned with their event's index in `events`.
 */
export async function storeBatchLeasing(
  pool: pg.Pool,
  events: StorableEvent[],
  offer: LeaseOffer | null,
): Promise<StoredBatch> {
  const rows: Row[] = []
  const firstOf = new Map<string, number>()
  const repeat: boolean[] = []
  // An event that cannot even become a row (e.g. an invalid receivedAt) fails alone.
  const invalid = new Map<number, EventOutcome>()
  const slot: number[] = events.map((e, i) => {
    let row: Row
    try {
      row = toRow(e, i)
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
  const stored: Stored = { inserted: new Set(), leased: [], unleased: 0 }
  const { inserted } = stored
  const outcome: EventOutcome[] = []
  try {
    await insertAll(pool, rows, offer, stored)
    rows.forEach((r, i) => (outcome[i] = { ok: true, inserted: inserted.has(r.key) }))
  } catch (err) {
    if (isConnectionError(err) || isSetupError(err)) throw unavailable(err)
    // Rows of chunks already committed are simply found as duplicates from here on.
    const checked = rows.map(checkedInJs)
    try {
      await insertAll(pool, checked, offer, stored)
      rows.forEach((r, i) => (outcome[i] = { ok: true, inserted: inserted.has(r.key) }))
    } catch (err) {
      if (isConnectionError(err) || isSetupError(err)) throw unavailable(err)
      for (const [i, row] of checked.entries()) {
        const alone = await insertAlone(pool, row, offer, stored)
        outcome[i] = alone.ok && inserted.has(row.key) ? { ok: true, inserted: true } : alone
      }
    }
  }
  await failUnstored(pool, rows, outcome)
  const processedAt = Date.now()
  // A within-batch duplicate is reported like a redelivery: stored, not inserted again.
  const results = slot.map((s, i) => {
    const o = s < 0 ? invalid.get(i)! : outcome[s]!
    const result: EventOutcome = o.ok && repeat[i] ? { ok: true, inserted: false } : o
    return { ...result, processedAt }
  })
  const indexOf = new Map(rows.map((r) => [r.key, r.index]))
  const leased = stored.leased.map((d) => ({
    id: d.id,
    subscriptionId: d.subscriptionId,
    event: indexOf.get(d.key)!,
  }))
  return { results, leased, unleased: stored.unleased }
}

/** Rows reported stored already whose key is not there fail this attempt (confirm-stored.ts). */
async function failUnstored(pool: pg.Pool, rows: Row[], outcome: EventOutcome[]): Promise<void> {
  // Indexes into rows (and outcome) of the rows reported stored already.
  const absent = rows.flatMap((_, i) => {
    const o = outcome[i]!
    return o.ok && !o.inserted ? [i] : []
  })
  if (absent.length === 0) return
  let missing: number[]
  try {
    missing = await unstoredRows(
      pool,
      absent.map((i) => rows[i]!.event),
    )
  } catch (err) {
    // The batch is committed; retrying all of it later finds the stored ones as duplicates.
    throw unavailable(err)
  }
  for (const m of missing) {
    outcome[absent[m]!] = {
      ok: false,
      permanent: false,
      error: 'the database answered the store statement without storing this event',
    }
  }
}

async function insertAll(
  pool: pg.Pool,
  rows: Row[],
  offer: LeaseOffer | null,
  stored: Stored,
): Promise<void> {
  // Same lock order in every batch: overlapping concurrent batches wait instead of deadlocking.
  const sorted = rows.slice().sort((a, b) => (a.key < b.key ? -1 : 1))
  // Very large batches are split into statements of MAX_ROWS (see there).
  for (let at = 0; at < sorted.length; at += MAX_ROWS) {
    const chunk = sorted.slice(at, at + MAX_ROWS)
    await retryOnConflict(() => insertRows(pool, chunk, offer, stored))
  }
}

async function insertAlone(
  pool: pg.Pool,
  row: Row,
  offer: LeaseOffer | null,
  stored: Stored,
): Promise<EventOutcome> {
  let last: unknown
  for (const variant of row.hasPayload ? [row, withoutPayload(row)] : [row]) {
    try {
      await retryOnConflict(() => insertRows(pool, [variant], offer, stored))
      return { ok: true, inserted: stored.inserted.has(row.key) }
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
