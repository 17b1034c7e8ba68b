import type pg from 'pg'

/** How a subscription's deliveries stand, from Postgres (shared by every node). */
export interface DeliveryHealth {
  pending: number
  failed: number
  failingSince: string | null
  lastSuccessAt: string | null
  consecutiveFailures: number
  downSince: string | null
  pausedAt: string | null
  nextProbeAt: string | null
}

export async function deliveryHealth(
  db: pg.Pool,
  subscriptionIds: readonly string[],
): Promise<Map<string, DeliveryHealth>> {
  const { rows } = await db.query<{
    id: string
    pending: string
    failed: string
    failing_since: Date | null
    last_success_at: Date | null
    consecutive_failures: number
    down_since: Date | null
    paused_at: Date | null
    next_probe_at: Date | null
  }>(
    `SELECT s.id, s.failing_since, s.last_success_at, s.consecutive_failures, s.down_since, s.paused_at,
       s.next_probe_at,
       (SELECT count(*) FROM deliveries d
         WHERE d.subscription_id = s.id AND d.status = 'pending') AS pending,
       (SELECT count(*) FROM deliveries d
         WHERE d.subscription_id = s.id AND d.status = 'failed') AS failed
       FROM subscriptions s WHERE s.id = ANY ($1::uuid[])`,
    [subscriptionIds],
  )
  return new Map(
    rows.map((r) => [
      r.id,
      {
        pending: Number(r.pending),
        failed: Number(r.failed),
        failingSince: r.failing_since?.toISOString() ?? null,
        lastSuccessAt: r.last_success_at?.toISOString() ?? null,
        consecutiveFailures: r.consecutive_failures,
        downSince: r.down_since?.toISOString() ?? null,
        pausedAt: r.paused_at?.toISOString() ?? null,
        nextProbeAt: r.next_probe_at?.toISOString() ?? null,
      },
    ]),
  )
}
