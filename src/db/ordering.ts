import type pg from 'pg'

/**
 * Ordered delivery (contract: "ordering"). A subscription's deliveries of events with the same
 * key form a chain per (subscription, key, generation) in the order Sluice received the events:
 * each waits for the one before it (deliveries.waiting_for) and the claim's indexes leave
 * waiting ones out, so only a chain's head can be attempted. When a delivery is done (succeeded,
 * finally failed, cancelled), the result write frees its successor (src/db/delivery-results.ts).
 *
 * New ordered deliveries are stored unlinked (waiting_for = 0) and linked here, by one node at a
 * time (an advisory lock), oldest first, and only once received before the watermark: the
 * moment before which this node has stored every event it received (src/pipeline/watermark.ts).
 * An event still in this node's journal or queue is thus linked in its place, not after a later
 * one of its key that happened to be stored first. Linking and freeing are serialised (below).
 */

/** Serialises chain changes across nodes: two linkers would chain two deliveries to one tail. */
export const LINK_LOCK_KEY = 5_317_911_017

// u: the oldest unlinked deliveries received before $1. c: their predecessor among u, by chain.
// The first of each chain in u follows the chain's tail: its linked pending delivery that no
// pending delivery waits for. Not simply the latest received: one linked late (a replay of
// older events, an event another node stored late) is appended behind the tail and is the tail
// from then on. None means the new one is the head and may go at once. The tail is found on
// deliveries_chain read backwards, each candidate tested on deliveries_waiting, whose predicate
// `waiting_for > 0` the test repeats: without it the planner cannot use that partial index and
// scanned the table once per chain (a link of 5,000 took 15 s beside 128,000 deliveries). The
// update repeats `waiting_for = 0` for the same reason: the planner, expecting $2 rows from u,
// otherwise joined them to every delivery with a sequential scan, at every claim.
const LINK = `
WITH u AS (
  SELECT id, subscription_id, ordering_key, generation, received_at FROM deliveries
  WHERE waiting_for = 0 AND received_at < $1 ORDER BY received_at, id LIMIT $2 FOR UPDATE
),
c AS (
  SELECT id, subscription_id AS sid, ordering_key AS k, generation AS g,
    lag(id) OVER w AS prev, row_number() OVER w AS n
  FROM u WINDOW w AS (PARTITION BY subscription_id, ordering_key, generation
    ORDER BY received_at, id)
)
UPDATE deliveries d SET waiting_for = CASE WHEN c.n > 1 THEN c.prev ELSE (
    SELECT t.id FROM deliveries t WHERE t.subscription_id = c.sid AND t.ordering_key = c.k
      AND t.generation = c.g AND t.status = 'pending'
      AND (t.waiting_for IS NULL OR t.waiting_for > 0)
      AND (SELECT 1 FROM deliveries n WHERE n.waiting_for = t.id AND n.waiting_for > 0
        AND n.status = 'pending' LIMIT 1) IS NULL
    ORDER BY t.received_at DESC, t.id DESC LIMIT 1) END
FROM c WHERE d.id = c.id AND d.waiting_for = 0`

export interface ChainsResult {
  /** Deliveries put into their chains. */
  readonly linked: number
  /** Unlinked deliveries remain (after the watermark, or beyond the limit). */
  readonly more: boolean
}

// The successors of deliveries this node finished may go (their results are committed).
// `waiting_for > 0` repeats deliveries_waiting's predicate: Postgres proves it from `= ANY`
// only for arrays of at most 100 elements, and with more ids the release scanned the whole
// table (measured: 101 ids, 200,000 rows: 24 ms sequential scan instead of 0.6 ms).
const RELEASE = `UPDATE deliveries w SET waiting_for = NULL
  WHERE w.waiting_for = ANY ($1::bigint[]) AND w.waiting_for > 0`

/**
 * Every change to the chains, in one transaction under LINK_LOCK_KEY, each statement taken after
 * the lock so it sees what the last holder did: free the successors of `done` (deliveries this
 * node finished, committed before), then link up to `limit` deliveries received before
 * `beforeMs`. A result write frees nothing itself: its snapshot could miss a link made meanwhile
 * to the delivery it finishes, and that successor would wait forever.
 */
export async function advanceChains(
  db: pg.Pool,
  req: { done: readonly string[]; beforeMs: number; limit?: number },
): Promise<ChainsResult> {
  const client = await db.connect()
  try {
    await client.query('BEGIN')
    await client.query('SELECT pg_advisory_xact_lock($1)', [LINK_LOCK_KEY])
    if (req.done.length > 0) await client.query(RELEASE, [req.done])
    const linked = await client.query(LINK, [new Date(req.beforeMs), req.limit ?? 5000])
    const more = await client.query<{ more: boolean }>(
      'SELECT EXISTS (SELECT 1 FROM deliveries WHERE waiting_for = 0) AS more',
    )
    await client.query('COMMIT')
    return { linked: linked.rowCount ?? 0, more: more.rows[0]?.more ?? false }
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {})
    throw err
  } finally {
    client.release()
  }
}

/**
 * Frees deliveries left waiting for one that is finished or gone: a crash between a result's
 * commit and the release of its successor leaves one (retention may delete the finished one
 * since). It reads every waiting delivery, one index probe each (a subquery per row: as an
 * anti-join the planner walked the whole table), so it runs seldom and off the claim's path.
 * Freeing needs no lock: it links nothing.
 */
export async function sweepOrphans(db: pg.Pool): Promise<number> {
  const r = await db.query(
    `UPDATE deliveries w SET waiting_for = NULL WHERE w.waiting_for > 0
       AND (SELECT p.status FROM deliveries p WHERE p.id = w.waiting_for) IS DISTINCT FROM 'pending'`,
  )
  return r.rowCount ?? 0
}
