import type pg from 'pg'

/** Rows per DELETE: short statements, so claims and result writes never wait long behind one. */
const BATCH = 10_000

/**
 * Deletes deliveries completed (succeeded, failed or cancelled) before `cutoff`: the events
 * they delivered leave with their partitions at the same age, and a delivery's attempt log
 * leaves with its own. Pending deliveries stay whatever their age. Returns how many went.
 */
export async function deleteCompletedDeliveries(
  client: pg.ClientBase,
  cutoff: Date,
): Promise<number> {
  let deleted = 0
  for (;;) {
    const r = await client.query(
      `DELETE FROM deliveries WHERE id IN (SELECT id FROM deliveries
         WHERE status <> 'pending' AND completed_at < $1 ORDER BY completed_at LIMIT ${BATCH})`,
      [cutoff],
    )
    deleted += r.rowCount ?? 0
    if ((r.rowCount ?? 0) < BATCH) return deleted
  }
}
