import { execFileSync } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import pg from 'pg'
import type { ClaimRequest, ClaimedDelivery } from '../../src/db/deliveries.js'
import type { DeliveryResult } from '../../src/db/delivery-results.js'
import { migrate } from '../../src/db/migrate.js'
import { freshDatabase } from '../stages/services.js'
import type { BenchContext, BenchSection, SectionResult } from '../types.js'

const SUBSCRIPTIONS = Number(process.env.BENCH_CYCLE_SUBSCRIPTIONS ?? 50)
const DELIVERIES = Number(process.env.BENCH_CYCLE_DELIVERIES ?? 5000)
const BATCHES = (process.env.BENCH_CYCLE_BATCHES ?? '50,200').split(',').map(Number)
const ROUNDS = Number(process.env.BENCH_CYCLE_ROUNDS ?? 3)
const BASELINE_DIR = process.env.BENCH_BASELINE_DIR
// Ids a busy node excludes from each claim (its attempts in flight and unwritten results).
const EXCLUDE = Number(process.env.BENCH_CYCLE_EXCLUDE ?? 500)

/** What one checkout's dist offers for the cycle (its own SQL, not this checkout's). */
interface CycleApi {
  claimDue(
    db: pg.Pool,
    req: ClaimRequest,
  ): Promise<ClaimedDelivery[] | { deliveries: ClaimedDelivery[] }>
  recordResults(
    db: pg.Pool,
    owner: string,
    node: string,
    results: DeliveryResult[],
    hours: number,
  ): Promise<unknown>
  /** What the checkout's dispatcher thread does to its pool (prepared statements), if anything. */
  setUp(pool: pg.Pool): void
}

async function load(root: string): Promise<CycleApi> {
  const from = (f: string) => import(pathToFileURL(join(root, 'dist', 'src', 'db', f)).href)
  const deliveries = (await from('deliveries.js')) as Pick<CycleApi, 'claimDue'>
  const results = (await from('delivery-results.js')) as Pick<CycleApi, 'recordResults'>
  // A checkout before issue 20 has no prepared.js: its statements are unnamed.
  const prepared = (await from('prepared.js').catch(() => null)) as {
    usePreparedStatements(p: pg.Pool): void
  } | null
  return { ...deliveries, ...results, setUp: (p) => prepared?.usePreparedStatements(p) }
}

/** CPU (user + system) a Linux process has used, in ms: one Postgres backend here. */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')
  return (Number(fields[11]) + Number(fields[12])) * 10
}

/**
 * Claim `batch` deliveries, record them all as 200s, until `DELIVERIES` are done: the
 * dispatcher's two statements per batch, on one connection, whose backend's CPU is read from
 * /proc (the machine may be busy: CPU time, not wall time, is the measure).
 */
async function cycle(api: CycleApi, url: string, batch: number) {
  const pool = new pg.Pool({ connectionString: url, max: 1 })
  try {
    api.setUp(pool)
    await pool.query(`TRUNCATE deliveries, delivery_attempts, subscriptions CASCADE`)
    const { rows: subs } = await pool.query<{ id: string }>(
      `INSERT INTO subscriptions (id, url, match_key, secret, event_types)
       SELECT gen_random_uuid(), 'http://127.0.0.1:1/' || g, 'k' || g, '\\x00', ARRAY['bench']
       FROM generate_series(1, $1::int) g RETURNING id`,
      [SUBSCRIPTIONS],
    )
    // Finished history beside the backlog, as a running engine has.
    await pool.query(
      `INSERT INTO deliveries (subscription_id, source, event_id, received_at, status, attempts,
         completed_at)
       SELECT s.id, 'default', 'h' || g, now(), 'succeeded', 1, now()
       FROM subscriptions s, generate_series(1, 400) g`,
    )
    await pool.query(
      `INSERT INTO deliveries (subscription_id, source, event_id, received_at)
       SELECT s.id, 'default', 'e' || g, now() FROM subscriptions s,
         generate_series(1, ceil($1::float8 / $2)::int) g`,
      [DELIVERIES, SUBSCRIPTIONS],
    )
    await pool.query('VACUUM ANALYZE deliveries')
    const { rows } = await pool.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')
    const pid = rows[0]!.pid
    const owner = randomUUID()
    const room = Math.max(1, Math.ceil(batch / SUBSCRIPTIONS))
    const rooms = new Map(subs.map((s) => [s.id, room]))
    // Ids no delivery here has: the exclusion's cost without changing what is claimed.
    const exclude = Array.from({ length: EXCLUDE }, (_, i) => String(-1 - i))
    const cpu0 = cpuMs(pid)
    let done = 0
    while (done < DELIVERIES) {
      const got = await api.claimDue(pool, {
        owner,
        leaseMs: 13_000,
        rooms,
        exclude,
        limit: batch,
      })
      // Before 2026-12-07 the claim returned its deliveries alone.
      const claimed = Array.isArray(got) ? got : got.deliveries
      if (claimed.length === 0) break
      const at = new Date()
      await api.recordResults(
        pool,
        owner,
        'bench',
        claimed.map((d) => ({
          ...{ id: d.id, subscriptionId: d.subscriptionId, status: 'succeeded' as const },
          ...{ nextAttemptAt: null, effect: 'success' as const, attemptedAt: at, durationMs: 5 },
          ...{ statusCode: 200, error: null, message: null, excerpt: '', truncated: false },
        })),
        0,
      )
      done += claimed.length
    }
    return {
      deliveries: done,
      backendUsPerDelivery: Math.round(((cpuMs(pid) - cpu0) / done) * 1000),
    }
  } finally {
    await pool.end()
  }
}

/**
 * Issue 20: the Postgres CPU of the dispatcher's claim + result write per delivery, by batch
 * size, for this checkout and (BENCH_BASELINE_DIR) a built older one, alternating in one
 * sitting. Opt-in: `node dist/bench/run.js delivery-cycle`.
 */
export const deliveryCycleSection: BenchSection = {
  name: 'delivery-cycle',
  description: `claim + record of ${DELIVERIES} deliveries over ${SUBSCRIPTIONS} subscriptions, batches ${BATCHES.join('/')}, ${EXCLUDE} ids excluded: Postgres backend CPU per delivery, this checkout vs BENCH_BASELINE_DIR`,
  async run(ctx: BenchContext): Promise<SectionResult> {
    const roots: [string, string][] = [['this checkout', ctx.root]]
    if (BASELINE_DIR) {
      const dir = resolve(BASELINE_DIR)
      const rev = execFileSync('git', ['-C', dir, 'log', '-1', '--format=%h'], { encoding: 'utf8' })
      roots.push([`baseline ${rev.trim()}`, dir])
    }
    const apis = await Promise.all(roots.map(([, root]) => load(root)))
    const db = await freshDatabase('sluice_bench_cycle')
    const rows: Record<string, string | number>[] = []
    try {
      await migrate(db.url)
      for (const batch of BATCHES) {
        for (let round = 1; round <= ROUNDS; round++) {
          for (const [i, [name]] of roots.entries()) {
            ctx.log(`${name}, batch ${batch}, round ${round}`)
            const r = await cycle(apis[i]!, db.url, batch)
            rows.push({ checkout: name, batch, round, ...r })
          }
        }
      }
    } finally {
      await db.drop()
    }
    return {
      tables: [
        { title: 'delivery-cycle: Postgres backend µs per delivery (claim + record)', rows },
      ],
      data: { SUBSCRIPTIONS, DELIVERIES, BATCHES, ROUNDS, EXCLUDE, rows },
    }
  },
}
