import t from 'tap'
import pg from 'pg'
import { migrate } from '../src/db/migrate.js'
import { DatabaseUnavailableError } from '../src/db/errors.js'
import { crashGuardOn } from '../src/db/runs-alone.js'
import { RunsAlone } from '../src/consumer/crash-guard.js'
import type { EventResult } from '../src/event.js'
import { makeEvent } from './helpers/broker-fixtures.js'
import { freshDatabase } from './helpers/pg.js'
import { until } from './helpers/wait.js'
import { failOnLeaks } from './helpers/leaks.js'

// The crash guard on Postgres (src/db/runs-alone.ts) with RunsAlone: a begun run counts as a
// death only when nothing of the engine that began it is still around to end it.

const stored = (): EventResult => ({ ok: true, inserted: true, processedAt: Date.now() })

t.test('the guard on Postgres', async (t) => {
  const db = await freshDatabase('sluice_crash_guard')
  const pool = new pg.Pool({ connectionString: db.url, max: 3 })
  t.teardown(async () => {
    await pool.end()
    await db.drop()
  })
  await migrate(pool)
  const begun = async () =>
    (await pool.query<{ id: string }>('SELECT id FROM event_runs_alone')).rows

  // The broker link drops while X runs alone, and the broker hands the message straight back
  // to the same engine: its new delivery must not take the run still in flight for a death.
  t.test('a run of this engine still in flight is not a death', async (t) => {
    const guard = crashGuardOn(pool)
    const d = { event: makeEvent({ id: 'in-flight' }) }
    let finish!: (r: EventResult) => void
    const first = new RunsAlone(guard, [d], () => new Promise<EventResult>((r) => (finish = r)))
    const firstDone = first.runAll()
    await until('the first run alone began', async () => (await begun()).length === 1)
    const again = new RunsAlone(guard, [d], async () => stored())
    const againDone = again.runAll()
    await until('the redelivery ran or judged it', async () => {
      return again.culprits.size > 0 || again.results.size > 0
    })
    finish(stored())
    await Promise.all([firstDone, againDone])
    t.same([...again.culprits], [], 'the redelivery does not dead-letter the event')
    t.equal(again.results.size, 1, 'it stores it (a duplicate, absorbed by the event id)')
    t.same(await begun(), [], 'no run is left begun')
  })

  // A database outage during the run, then a shutdown: nothing died, yet the begun row stayed
  // and the next engine dead-lettered the event.
  t.test('a run that failed without dying is ended, not left for a death', async (t) => {
    const guard = crashGuardOn(pool)
    const d = { event: makeEvent({ id: 'abandoned' }) }
    const alone = new RunsAlone(guard, [d], () =>
      Promise.reject(new DatabaseUnavailableError('connection refused')),
    )
    await t.rejects(alone.runAll(), DatabaseUnavailableError)
    const nextEngine = crashGuardOn(pool)
    t.same(await nextEngine.diedOn([d.event]), [], 'the next engine finds no death')
    t.same(await begun(), [], 'no run is left begun')
  })

  t.test("another engine's run that never ended is a death", async (t) => {
    const d = { event: makeEvent({ id: 'died' }) }
    await crashGuardOn(pool).begin(d.event)
    const next = new RunsAlone(crashGuardOn(pool), [d], async () => stored())
    await next.runAll()
    t.same([...next.culprits], [d], 'the event is the culprit')
    t.equal(next.results.size, 0, 'and is not run again')
  })
})

failOnLeaks(t)
