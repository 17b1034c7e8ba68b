import pg from 'pg'
import { DISPATCHER_POOL_SIZE } from './options.js'

/** Sent on each new connection of the dispatcher's pool to an external Postgres. */
const PLAN_EACH_RUN = 'SET plan_cache_mode = force_custom_plan'

/**
 * The dispatcher thread's pool. Its hot statements are named (src/db/prepared.ts), so each is
 * parsed once per connection; but after five runs Postgres switches a named statement to a
 * generic plan, and for the claim and the result write those plans cost more than planning
 * each run: with them Postgres spent 221-248 µs per delivery in `npm run bench -- outbound`
 * (a) against 140 with custom plans, and the engine delivered 0.8 as many (bench/README.md).
 *
 * A SET on connect rather than a startup option: PgBouncer refuses startup options it does not
 * know, and a server without the setting (before Postgres 12) only loses the tuning, not the
 * connection. The pool awaits onConnect before it hands the connection out, so the SET runs
 * before the first claim and never beside another query (pg deprecates queueing). Not on the
 * embedded database, whose connections share one backend and name no statements.
 */
export function createDispatcherPool(connectionString: string, embedded: boolean): pg.Pool {
  return new pg.Pool({
    connectionString,
    max: DISPATCHER_POOL_SIZE,
    // pg-pool awaits the promise onConnect returns (3.14, its index.js); @types/pg says void.
    // eslint-disable-next-line @typescript-eslint/no-misused-promises
    ...(embedded ? {} : { onConnect: planEachRun }),
  })
}

/** A refusal costs the tuning only; a lost connection shows in the query that follows. */
async function planEachRun(client: pg.ClientBase): Promise<void> {
  await client.query(PLAN_EACH_RUN).catch(() => {})
}
