import pg from 'pg'
import { DISPATCHER_POOL_SIZE } from './options.js'

/** Sent on each new connection of the dispatcher's pool to an external Postgres. */
export const PLAN_EACH_RUN = 'SET plan_cache_mode = force_custom_plan'

/**
 * The dispatcher thread's pool. Its hot statements are named (src/db/prepared.ts), so each is
 * parsed once per connection; but after five runs Postgres switches a named statement to a
 * generic plan, and for the claim and the result write those plans cost more than planning
 * each run: with them Postgres spent 221-248 µs per delivery in `npm run bench -- outbound`
 * (a) against 140 with custom plans, and the engine delivered 0.8 as many (bench/README.md).
 *
 * A SET on connect rather than a startup option: PgBouncer refuses startup options it does not
 * know, and a server without the setting (before Postgres 12) only loses the tuning, not the
 * connection. pg runs a client's queries in order, so the SET precedes the first claim. Not on
 * the embedded database, whose connections share one backend and name no statements.
 */
export function createDispatcherPool(connectionString: string, embedded: boolean): pg.Pool {
  const pool = new pg.Pool({ connectionString, max: DISPATCHER_POOL_SIZE })
  if (!embedded) {
    pool.on('connect', (client) => {
      client.query(PLAN_EACH_RUN).catch(() => {})
    })
  }
  return pool
}
