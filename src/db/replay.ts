import type pg from 'pg'
import { SluiceError } from '../errors.js'
import { orderingValues, subscriptionMatches } from './subscription-match.js'

/** Which stored events to deliver again, and to which subscription (all matching when absent). */
export interface ReplayFilter {
  source?: string | undefined
  type?: string | undefined
  /** ISO 8601, inclusive. */
  since?: string | undefined
  /** ISO 8601, exclusive. */
  until?: string | undefined
  subscriptionId?: string | undefined
}

/** Deliveries one replay may make; past it the operator narrows the filter or replays in parts. */
export const REPLAY_MAX = 100_000

const tooLarge = () =>
  new SluiceError(
    'replay_too_large',
    `the replay would make more than ${REPLAY_MAX} deliveries; narrow since/until or replay in parts`,
  )

// Every (event, active subscription) pair that matches, as the fan-out would pair them. Capped
// one past REPLAY_MAX so an oversized replay is told apart without counting all of it.
const PAIRS = `
SELECT e.source, e.id, e.received_at, s.id AS sid, e.payload, s.ordering_path
  FROM events e JOIN subscriptions s ON s.status = 'active' AND ${subscriptionMatches('s', 'e')}
 WHERE ($1::text IS NULL OR e.source = $1) AND ($2::text IS NULL OR e.type = $2)
   AND ($3::timestamptz IS NULL OR e.received_at >= $3)
   AND ($4::timestamptz IS NULL OR e.received_at < $4)
   AND ($5::uuid IS NULL OR s.id = $5)
 LIMIT ${REPLAY_MAX + 1}`

// A replay makes new deliveries on purpose, all of one new generation (a sequence), so its
// deliveries of one key form one chain, ordered within itself; the unique key (source, event_id,
// subscription_id, generation) still forbids two of one generation.
const INSERT = `
WITH m AS (${PAIRS}), g AS (SELECT nextval('sluice_replay_generation') AS n)
INSERT INTO deliveries (subscription_id, source, event_id, received_at, generation, ordering_key,
  waiting_for)
SELECT m.sid, m.source, m.id, m.received_at, g.n, ${orderingValues('m', 'm')}
  FROM m CROSS JOIN g`

/**
 * Counts (dry run) or makes new deliveries of the stored events the filter matches, for every
 * matching active subscription. One transaction under an advisory lock, so two replays at once
 * cannot pick the same generation, and an oversized replay makes nothing.
 */
export async function replay(
  db: pg.Pool,
  filter: ReplayFilter,
  dryRun: boolean,
): Promise<{ count: number }> {
  const params = [
    filter.source ?? null,
    filter.type ?? null,
    filter.since ?? null,
    filter.until ?? null,
    filter.subscriptionId ?? null,
  ]
  const client = await db.connect()
  try {
    await client.query('BEGIN')
    await client.query("SELECT pg_advisory_xact_lock(hashtext('sluice_replay'))")
    const { rows } = await client.query<{ n: string }>(
      `SELECT count(*) AS n FROM (${PAIRS}) m`,
      params,
    )
    const count = Number(rows[0]?.n ?? 0)
    if (count > REPLAY_MAX) throw tooLarge()
    // Events stored since the count are replayed too: the answer is what was made.
    const made =
      dryRun || count === 0 ? count : ((await client.query(INSERT, params)).rowCount ?? 0)
    await client.query('COMMIT')
    return { count: made }
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {})
    throw err
  } finally {
    client.release()
  }
}
