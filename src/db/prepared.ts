import type pg from 'pg'

/**
 * The dispatcher's hot statements (the claim, the result write, the next-due probe) are large
 * CTEs run hundreds of times a second under load: parsing and planning them each time cost
 * Postgres as much as a batch's row writes (issue 20: about 6 ms per claim + result pair). As
 * named statements they are parsed once per connection, and Postgres may keep a generic plan.
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

/** `text` with `values`, as the named statement `name` where the pool allows it. */
export function hotQuery<R extends pg.QueryResultRow>(
  db: pg.Pool,
  name: string,
  text: string,
  values: unknown[],
): Promise<pg.QueryResult<R>> {
  if (!preparing.has(db)) return db.query<R>(text, values)
  return db.query<R>({ name: `sluice_${name}`, text, values })
}
