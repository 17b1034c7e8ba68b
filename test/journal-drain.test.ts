import t from 'tap'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { AMQP_URL, deleteRabbitTopology } from './helpers/broker-fixtures.js'
import { EngineChild } from './helpers/engine-child.js'
import { pendingIds } from './helpers/journal.js'
import { failOnLeaks } from './helpers/leaks.js'
import { freshDatabase } from './helpers/pg.js'
import { postMany } from './helpers/post.js'
import { collect, spawnSluice } from './helpers/spawn.js'
import { until } from './helpers/wait.js'

const EVENTS = Number(process.env.DRAIN_EVENTS ?? 1500)
/** A port nothing listens on: the broker is unreachable. */
const CLOSED_AMQP_URL = 'amqp://guest:guest@127.0.0.1:1'

const drain = (env: NodeJS.ProcessEnv, args: string[] = []) =>
  collect(spawnSluice(['journal', 'drain', ...args], env))

t.test(
  'usage: --help never acts; bad arguments, a local broker or no journal refuse',
  async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-drain-usage-'))
    t.teardown(() => rmSync(dir, { recursive: true, force: true }))
    const absent = join(dir, 'absent')
    const rabbit = { SLUICE_BROKER: 'rabbitmq', AMQP_URL: CLOSED_AMQP_URL, SLUICE_DATA_DIR: absent }
    const [help, helpAction, none, unknown, badTimeout, local, noJournal] = await Promise.all([
      drain(rabbit, ['--help']),
      collect(spawnSluice(['journal', '--help'], rabbit)),
      collect(spawnSluice(['journal'], rabbit)),
      drain(rabbit, ['--frobnicate']),
      drain(rabbit, ['--timeout', '0']),
      drain({ SLUICE_BROKER: 'local', SLUICE_DATA_DIR: absent }),
      drain(rabbit),
    ])
    t.equal(help.code, 0, help.code === 0 ? '--help exits 0' : help.stderr)
    t.match(help.stdout, /^Usage: sluice journal drain/)
    t.notMatch(help.stdout, /"msg"/, 'no log line: nothing ran')
    t.equal(helpAction.code, 0)
    t.match(helpAction.stdout, /sluice journal drain/)
    t.equal(none.code, 2, 'a missing action is a usage error')
    t.match(none.stderr, /missing action/)
    t.equal(unknown.code, 2, 'an unknown option is a usage error')
    t.equal(badTimeout.code, 2)
    t.match(badTimeout.stderr, /--timeout must be an integer/)
    t.equal(local.code, 2, 'the local broker is refused: its queue is on this node too')
    t.match(local.stderr, /SLUICE_BROKER is local/)
    t.equal(noJournal.code, 1, 'no journal in the directory')
    t.match(noJournal.stderr, /no journal in .*journal\.db is missing/)
    t.notOk(existsSync(absent), 'none of them created the data directory')
  },
)

t.test(
  'a node acknowledged events with the broker unreachable and was killed -9: `sluice journal drain` forwards them, another node stores each once',
  async (t) => {
    const queue = `sluice.test.drain-${process.pid}-${Date.now().toString(36)}`
    const db = await freshDatabase('sluice_journal_drain')
    const dirA = mkdtempSync(join(tmpdir(), 'sluice-drain-a-'))
    const dirB = mkdtempSync(join(tmpdir(), 'sluice-drain-b-'))
    const shared = {
      SLUICE_BROKER: 'rabbitmq',
      SLUICE_QUEUE: queue,
      DATABASE_URL: db.url,
      SLUICE_WORKERS: '2',
    }
    const a = new EngineChild({ ...shared, AMQP_URL: CLOSED_AMQP_URL, SLUICE_DATA_DIR: dirA })
    const b = new EngineChild({ ...shared, AMQP_URL, SLUICE_DATA_DIR: dirB })
    const pool = new pg.Pool({ connectionString: db.url, max: 2 })
    t.teardown(async () => {
      await a.kill9()
      await b.kill9()
      await pool.end()
      await deleteRabbitTopology(queue)
      await db.drop()
      rmSync(dirA, { recursive: true, force: true })
      rmSync(dirB, { recursive: true, force: true })
    })

    await a.start()
    const acked = await postMany({
      url: () => a.url,
      count: EVENTS,
      concurrency: 16,
      idPrefix: 'drain',
      deadline: Date.now() + 300_000,
    })
    t.equal(acked.size, EVENTS, 'node A acknowledged every event with its broker unreachable')

    const env = { ...shared, SLUICE_DATA_DIR: dirA }
    const locked = await drain({ ...env, AMQP_URL })
    t.equal(locked.code, 1, 'refused while the engine runs on the data directory')
    t.match(locked.stderr, /is in use by pid \d+ \(sluice start/)

    await a.kill9()
    const journaled = await pendingIds(dirA, EVENTS * 4)
    const inJournal = new Set(journaled)
    t.equal(
      [...acked].filter((id) => !inJournal.has(id)).length,
      0,
      'every acknowledged event is pending in the dead node’s journal',
    )

    const unreachable = await drain({ ...env, AMQP_URL: CLOSED_AMQP_URL }, ['--timeout', '3'])
    t.equal(unreachable.code, 1, 'the broker still unreachable: fails after --timeout')
    t.match(
      unreachable.stderr,
      new RegExp(`timed out after 3 s with ${journaled.length} of ${journaled.length} entries`),
    )
    t.equal(unreachable.stdout, '', 'no result line on failure')
    t.equal(
      (await pendingIds(dirA, EVENTS * 4)).length,
      journaled.length,
      'nothing left the journal',
    )

    const drained = await drain({ ...env, AMQP_URL }, ['--timeout', '300'])
    t.equal(drained.code, 0, drained.code === 0 ? 'the drain exits 0' : drained.stderr)
    t.same(
      drained.stdout.split('\n'),
      [JSON.stringify({ forwarded: journaled.length }), ''],
      'one JSON line on stdout: every pending entry forwarded',
    )
    t.same(await pendingIds(dirA, EVENTS * 4), [], 'the journal has no pending entries left')
    const again = await drain({ ...env, AMQP_URL })
    t.equal(again.code, 0, again.code === 0 ? 'the second drain exits 0' : again.stderr)
    t.equal(again.stdout, '{"forwarded":0}\n', 'a second drain has nothing to forward')

    // Node B never saw these events: its consumer takes them from the shared queue.
    await b.start()
    const rows = async () =>
      (
        await pool.query<{ n: number; d: number }>(
          `SELECT count(*)::int AS n, count(DISTINCT (source, id))::int AS d FROM events WHERE id LIKE 'drain-%'`,
        )
      ).rows[0]!
    await until(
      'node B stored every drained event',
      // Node B's pipeline thread may not have created the tables yet.
      async () => (await rows().catch(() => ({ d: 0 }))).d >= acked.size,
      300_000,
      250,
    )
    const { n, d } = await rows()
    t.equal(d, acked.size, 'every acknowledged event is in Postgres')
    t.equal(n, d, 'exactly one row each')
    const missing = await pool.query<{ m: number }>(
      `SELECT count(*)::int AS m FROM unnest($1::text[]) AS a(id) WHERE NOT EXISTS (SELECT 1 FROM events e WHERE e.source = 'default' AND e.id = a.id)`,
      [[...acked]],
    )
    t.equal(missing.rows[0]!.m, 0, 'no acknowledged id is missing')
    const stopped = await b.stop()
    t.equal(stopped, 0, stopped === 0 ? 'node B stops gracefully' : b.logTail())
  },
)

failOnLeaks(t)
