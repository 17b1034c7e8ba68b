import t from 'tap'
import pg from 'pg'
import { HealthState, notRunning } from '../src/dispatcher/health.js'
import { Notifier } from '../src/dispatcher/notifier.js'
import { failOnLeaks } from './helpers/leaks.js'
import { OwnPostgres } from './helpers/own-postgres.js'
import { until } from './helpers/wait.js'

t.test('down while claims or result writes fail, up when each succeeds again', async (t) => {
  const h = new HealthState()
  t.match(h.view(true), { ok: true, state: 'up', listening: true, since: null, lastError: null })
  h.failed('claims', new Error('connect ECONNREFUSED'))
  const first = h.view(false)
  t.match(first, { ok: false, state: 'down', listening: false, lastError: 'connect ECONNREFUSED' })
  h.failed('results', new Error('Connection terminated unexpectedly'))
  h.failed('claims', new Error('the database system is starting up'))
  const both = h.view(false)
  t.equal(both.since, first.since, 'since: the first failure of the outage')
  t.match(both.lastError, /starting up.*terminated/, 'each part says why')
  h.succeeded('claims')
  t.match(h.view(true), { ok: false, lastError: 'Connection terminated unexpectedly' })
  h.succeeded('results')
  t.match(h.view(true), { ok: true, state: 'up', since: null })
  t.match(notRunning('no database'), { ok: false, state: 'starting', lastError: 'no database' })
})

// The LISTEN connection lost at a Postgres restart comes back by itself, and its handlers run
// once on the way (for notifications missed meanwhile).
t.test('the LISTEN connection is re-established after Postgres restarts', async (t) => {
  const own = await OwnPostgres.create()
  t.teardown(() => own.destroy())
  await own.start()
  let woken = 0
  const notifier = new Notifier(own.url, { sluice_deliveries: () => woken++ })
  t.teardown(() => notifier.close())
  notifier.start()
  await until('listening', () => notifier.connected)
  await own.kill9()
  await until('the loss is seen', () => !notifier.connected)
  const before = woken
  await own.start()
  await until('listening again', () => notifier.connected, 60_000)
  t.ok(woken > before, 'the handler ran on reconnecting')
  const c = new pg.Client({ connectionString: own.url })
  await c.connect()
  const at = woken
  await c.query('NOTIFY sluice_deliveries')
  await c.end()
  await until('a NOTIFY after the restart arrives', () => woken > at)
  t.pass('notifications arrive again')
})

failOnLeaks(t)
