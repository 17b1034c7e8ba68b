import t from 'tap'
import { createDispatcherPool } from '../src/dispatcher/pool-config.js'
import { DISPATCHER_POOL_SIZE } from '../src/dispatcher/options.js'
import { freshDatabase } from './helpers/pg.js'

// The dispatcher names its hot statements; its connections must plan them per run (generic
// plans made the claim and the result write cost Postgres 1.5x per delivery, bench/README.md).

t.test('every connection of the dispatcher pool plans each run', async (t) => {
  // The SET runs before the pool hands a connection out, never queued beside a query of the
  // dispatcher's (pg warns of that, and pg 9 will refuse it).
  const warnings: string[] = []
  const onWarning = (w: Error) => warnings.push(w.message)
  process.on('warning', onWarning)
  t.teardown(() => {
    process.off('warning', onWarning)
  })
  const db = await freshDatabase('sluice_dispatch_pool')
  const pool = createDispatcherPool(db.url, false)
  t.teardown(async () => {
    await pool.end()
    await db.drop()
  })
  t.equal(pool.options.max, DISPATCHER_POOL_SIZE)
  // Two connections at once: the setting is per connection, and each new one gets it.
  const clients = await Promise.all([pool.connect(), pool.connect()])
  try {
    for (const c of clients) {
      const { rows } = await c.query<{ plan_cache_mode: string }>('SHOW plan_cache_mode')
      t.equal(rows[0]?.plan_cache_mode, 'force_custom_plan')
    }
    await Promise.all([pool.query('SELECT 1'), pool.query('SELECT 2'), pool.query('SELECT 3')])
  } finally {
    for (const c of clients) c.release()
  }
  await new Promise((r) => setImmediate(r)) // warnings are emitted on the next tick
  t.same(
    warnings.filter((w) => /already executing a query/.test(w)),
    [],
    'no query queued on a busy connection',
  )
})

t.test('the embedded database keeps its default (one backend for every connection)', async (t) => {
  const pool = createDispatcherPool('postgres://127.0.0.1:1/x', true)
  t.teardown(() => pool.end())
  t.notOk((pool.options as { onConnect?: unknown }).onConnect, 'no hook for the embedded pool')
  t.equal(pool.options.max, DISPATCHER_POOL_SIZE)
})
