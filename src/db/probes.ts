import type pg from 'pg'

export interface ProbeSlot {
  readonly subscriptionId: string
  /** This node may send the subscription's next probe now. */
  readonly won: boolean
  /** Milliseconds until the next probe may go, by the database's clock (after this one, if won). */
  readonly inMs: number
}

/**
 * A paused subscription gets one probe per interval across every node: the node whose UPDATE
 * moves next_probe_at on wins it. Every subscription asked about comes back with when its next
 * probe is due, so a node that lost sleeps until then instead of asking again.
 */
export async function takeProbeSlots(
  db: pg.Pool,
  subscriptionIds: readonly string[],
  intervalMs: number,
): Promise<ProbeSlot[]> {
  if (subscriptionIds.length === 0) return []
  const { rows } = await db.query<{ id: string; won: boolean; in_ms: number | null }>(
    `WITH won AS (
       UPDATE subscriptions SET next_probe_at = now() + make_interval(secs => $2 / 1000.0)
       WHERE id = ANY ($1::uuid[]) AND status = 'active' AND paused_at IS NOT NULL
         AND (next_probe_at IS NULL OR next_probe_at <= now())
       RETURNING id, next_probe_at)
     SELECT s.id, w.id IS NOT NULL AS won,
       extract(epoch FROM coalesce(w.next_probe_at, s.next_probe_at) - now())::float8 * 1000 AS in_ms
     FROM subscriptions s LEFT JOIN won w ON w.id = s.id WHERE s.id = ANY ($1::uuid[])`,
    [subscriptionIds, intervalMs],
  )
  return rows.map((r) => ({
    subscriptionId: r.id,
    won: r.won,
    inMs: Math.max(0, r.in_ms ?? intervalMs),
  }))
}
