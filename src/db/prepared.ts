import type pg from 'pg'

/**
 * The dispatcher's hot statements (the claim, the result write, the next-due probe) are large
 * CTEs run hundreds of times a second under load: parsing and planning them each time cost
 * Postgres as much as a batch's row writes (issue 20: about 6 ms per claim + result pair). As
 * named statements they are parsed once per connection. The dispatcher's connections still
 * plan each run (`plan_cache_mode`, src/dispatcher/pool-config.ts): the generic plans Postgres
 * switched to after five runs cost more than planning.
 *
 * Only on pools marked here: PGlite's socket server (the embedded database) runs every
 * connection in its one backend, where two connections preparing the same name would collide.
 */
const preparing = new WeakSet<pg.Pool>()

/** This pool's connections each have a backend of their own: named statements are safe. */
export function usePreparedStatements(pool: pg.Pool): void {
  preparing.add(pool)
}

/** Whether usePreparedStatements() marked this pool. */
export function preparesStatements(pool: pg.Pool): boolean {
  return preparing.has(pool)
}

/**
 * Errors of the name rather than of the statement: the server lost it (26000: a pooler such as
 * PgBouncer in transaction mode before 1.21 or without max_prepared_statements, a DEALLOCATE),
 * a plan whose result type a migration changed (0A000), or a name another connection of the
 * same backend holds (42P05). Counted against the events they would fail each batch, so the
 * pool stops naming statements instead and the statement runs again unnamed.
 */
const NAME_TROUBLE = new Set(['26000', '0A000', '42P05'])

/** True (and the pool no longer names statements) when `err` is trouble with a name. */
export function dropNamesOn(pool: pg.Pool, err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code
  if (typeof code !== 'string' || !NAME_TROUBLE.has(code)) return false
  preparing.delete(pool)
  return true
}

/** `text` with `values`, as the named statement `name` where the pool allows it. */
export async function hotQuery<R extends pg.QueryResultRow>(
  db: pg.Pool,
  name: string,
  text: string,
  values: unknown[],
): Promise<pg.QueryResult<R>> {
  if (preparing.has(db)) {
    try {
      return await db.query<R>({ name: `sluice_${name}`, text, values })
    } catch (err) {
      if (!dropNamesOn(db, err)) throw err
    }
  }
  return db.query<R>(text, values)
}
