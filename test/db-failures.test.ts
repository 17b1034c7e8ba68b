import t from 'tap'
import pg from 'pg'
import { migrate } from '../src/db/migrate.js'
import { clearFailures, getFailures, recordFailure } from '../src/db/failures.js'
import { freshDatabase } from './helpers/pg.js'
import { failOnLeaks } from './helpers/leaks.js'

t.test('failure records for the dead-letter listing', async (t) => {
  const db = await freshDatabase('sluice_failures')
  const pool = new pg.Pool({ connectionString: db.url, max: 2 })
  t.teardown(async () => {
    await pool.end()
    await db.drop()
  })
  await migrate(pool)
  const a = { source: 'github', id: 'a' }
  const b = { source: 'stripe', id: 'a' }
  await recordFailure(pool, [{ ...a, error: 'first' }])
  await recordFailure(pool, [
    { ...a, error: 'second' },
    { ...b, error: 'only' },
    { ...b, error: 'only, again in the same call' },
  ])
  const got = await getFailures(pool, [a, b, { source: 'x', id: 'none' }])
  const byKey = new Map(got.map((f) => [`${f.source}/${f.id}`, f]))
  t.equal(got.length, 2)
  t.match(byKey.get('github/a'), { attempts: 2, lastError: 'second' })
  t.match(byKey.get('stripe/a'), { attempts: 1, lastError: 'only, again in the same call' })
  t.ok(byKey.get('github/a')!.lastFailedAt >= byKey.get('github/a')!.firstFailedAt)
  await clearFailures(pool, [a])
  t.same(
    (await getFailures(pool, [a, b])).map((f) => f.source),
    ['stripe'],
  )
  await recordFailure(pool, [])
  t.same(await getFailures(pool, []), [])
})

failOnLeaks(t)
