import pg from 'pg'
import { sleep } from '../stages/services.js'

/**
 * What the bench database's backends are doing, sampled from pg_stat_activity every `everyMs`:
 * per statement (recognised by its text) the mean number of backends running it, i.e. 0.55 =
 * running 55 % of the time. "idle in transaction" is a transaction waiting for its client (the
 * round trips between the statements of the dispatcher's chains transaction, for one); a
 * statement waiting for a lock is counted apart. Sampling is coarse (a statement shorter than
 * the period is seen in proportion to its share of the time, not counted) and costs Postgres
 * one small query per period.
 */
export interface ActivityReport {
  samples: number
  /** Statement -> mean backends busy with it (waiting included). */
  busy: Record<string, number>
  /** Of those, waiting for something, by wait_event_type (IO, LWLock, Lock, ...). */
  waiting: Record<string, number>
}

// The engine's statements by a piece of their text (src/db, workers/insert.ts), in match order.
const LABELS: [RegExp, string][] = [
  [/pg_advisory_xact_lock/, 'chains: lock'],
  [/WHERE waiting_for = 0 AND received_at </, 'chains: link'],
  [/SET waiting_for = NULL\s+WHERE w\.waiting_for = ANY/, 'chains: release'],
  [/SET waiting_for = NULL FROM deliveries p/, 'chains: sweep'],
  [/SELECT EXISTS \(SELECT 1 FROM deliveries WHERE waiting_for = 0\)/, 'chains: more?'],
  [/^\s*(BEGIN|COMMIT|ROLLBACK)/i, 'begin / commit'],
  // pg_stat_activity keeps the first 1 kB of a statement (track_activity_query_size).
  [/^\s*WITH a AS \(\s+SELECT a\.sid, least/, 'claim'],
  [/^\s*WITH r AS \(\s+SELECT \* FROM unnest/, 'result write'],
  [/^WITH v \(id, source, type_first, type_fallback, received_at/, 'store with fan-out (workers)'],
  [/extract\(epoch FROM least/, 'next due (msUntilDue)'],
  [/SET lease_owner = NULL, lease_until = NULL, next_attempt_at = now\(\)/, 'release leases'],
  [/md5\(string_agg/, 'subscription digest'],
  [/^\s*SELECT\s+count\(\*\) FILTER \(WHERE s\.status = 'active'/, 'backlog gauges'],
  [/^SELECT count\(\*\)::int AS due, extract/, 'backlog gauges'],
  [/AS writes, round\(avg/, "the bench's own queries"],
]

function label(state: string, query: string): string {
  if (state.startsWith('idle in transaction')) return 'idle in transaction'
  const other = () => `other: ${query.replace(/\s+/g, ' ').trim().slice(0, 40)}`
  return LABELS.find(([re]) => re.test(query))?.[1] ?? other()
}

/** Starts sampling; stop() resolves with the tally. */
export function sampleActivity(databaseUrl: string, everyMs = 20) {
  const client = new pg.Client({ connectionString: databaseUrl })
  const counts = new Map<string, number>()
  const waits = new Map<string, number>()
  let samples = 0
  let running = true
  // A sampler that fails stops sampling; the run it watches goes on.
  const loop = (async () => {
    await client.connect()
    while (running) {
      const { rows } = await client.query<{ state: string; query: string; wait: string | null }>(
        `SELECT state, query, wait_event_type AS wait FROM pg_stat_activity
         WHERE datname = current_database() AND pid <> pg_backend_pid()
           AND state IS NOT NULL AND state <> 'idle'`,
      )
      samples++
      for (const r of rows) {
        const l = label(r.state, r.query)
        counts.set(l, (counts.get(l) ?? 0) + 1)
        // An idle transaction waits for its client (ClientRead): that is its label already.
        if (r.wait && l !== 'idle in transaction') waits.set(r.wait, (waits.get(r.wait) ?? 0) + 1)
      }
      await sleep(everyMs)
    }
  })().catch(() => {})
  return {
    async stop(): Promise<ActivityReport> {
      running = false
      try {
        await loop
      } finally {
        await client.end().catch(() => {})
      }
      const share = (m: Map<string, number>) =>
        Object.fromEntries(
          [...m]
            .sort((a, b) => b[1] - a[1])
            .map(([l, n]) => [l, Number((n / Math.max(1, samples)).toFixed(2))]),
        )
      return { samples, busy: share(counts), waiting: share(waits) }
    },
  }
}
