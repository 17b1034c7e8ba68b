import pg from 'pg'
import type { Test } from 'tap'
import { migrate } from '../../src/db/migrate.js'
import { Maintenance } from '../../src/db/maintenance.js'
import type { Fixture } from './broker-fixtures.js'
import { freshDatabase } from './pg.js'

/** A fresh migrated database and a fresh queue of `fixture`'s broker, both removed at the end. */
export async function migratedOn(t: Test, fixture: Fixture, name: string) {
  const db = await freshDatabase(name)
  const h = await fixture.setup()
  const pool = new pg.Pool({ connectionString: db.url, max: 2 })
  t.teardown(async () => {
    await pool.end()
    await h.cleanup()
    await db.drop()
  })
  await migrate(pool)
  await new Maintenance({ pool }).runOnce()
  return { db, h, pool }
}
