import t from 'tap'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { localQueueBacklog } from '../src/pipeline/local-queue-check.js'
import { AMQP_URL, deleteRabbitTopology } from './helpers/broker-fixtures.js'
import { EngineChild } from './helpers/engine-child.js'
import { failOnLeaks } from './helpers/leaks.js'
import { freshDatabase, waitForStoredIds } from './helpers/pg.js'
import { postMany } from './helpers/post.js'
import { collect, spawnSluice } from './helpers/spawn.js'
import { until } from './helpers/wait.js'

// A node ran on the defaults (local queue in queue.db) with its database away, so acknowledged
// events sit in queue.db. Switched to RabbitMQ, it must refuse to start rather than leave them
// there unread; `sluice queue drain` moves them, and the engine then stores each once.
const EVENTS = 300
const CLOSED_DB = 'postgres://postgres@127.0.0.1:1/none'

t.test(
  'usage: --help never acts; a local broker or a directory without queue.db refuse',
  async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-qdb-usage-'))
    t.teardown(() => rmSync(dir, { recursive: true, force: true }))
    const rabbit = { SLUICE_BROKER: 'rabbitmq', AMQP_URL, SLUICE_DATA_DIR: dir }
    const [help, local, none, action] = await Promise.all([
      collect(spawnSluice(['queue', 'drain', '--help'], rabbit)),
      collect(spawnSluice(['queue', 'drain'], { ...rabbit, SLUICE_BROKER: 'local' })),
      collect(spawnSluice(['queue', 'drain'], rabbit)),
      collect(spawnSluice(['queue', 'frob'], rabbit)),
    ])
    t.equal(help.code, 0)
    t.match(help.stdout, /^Usage: sluice queue drain/)
    t.equal(local.code, 2, 'the local broker is not a destination')
    t.match(local.stderr, /SLUICE_BROKER is local/)
    t.equal(none.code, 1)
    t.match(none.stderr, `no local queue in ${dir} (queue.db is missing)`)
    t.equal(action.code, 2)
    t.match(action.stderr, /unknown action 'frob'/)
  },
)

t.test('refuses RabbitMQ while queue.db holds messages; drain, then all stored once', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-qdb-'))
  const db = await freshDatabase('sluice_qdb')
  const queue = `sluice.qdb.${randomBytes(4).toString('hex')}`
  const engines: EngineChild[] = []
  t.teardown(async () => {
    for (const e of engines) await e.kill9()
    await db.drop()
    await deleteRabbitTopology(queue)
    rmSync(dir, { recursive: true, force: true })
  })
  const base = { SLUICE_DATA_DIR: dir, SLUICE_ADMIN_PORT: '0', SLUICE_WORKERS: '1' }

  // 1. The defaults with the database away: the journal forwards into queue.db, nothing is stored.
  const local = new EngineChild({ ...base, SLUICE_BROKER: 'local', DATABASE_URL: CLOSED_DB })
  engines.push(local)
  await local.start()
  const acked = await postMany({
    url: () => local.url,
    count: EVENTS,
    concurrency: 8,
    idPrefix: 'qdb',
  })
  t.equal(acked.size, EVENTS)
  await until(`${EVENTS} messages wait in queue.db`, () => localQueueBacklog(dir) === EVENTS)
  t.equal(await local.stop(), 0)

  // 2. The broker changed: a configuration error (exit 2) naming the file and the command.
  const rabbit = { ...base, SLUICE_BROKER: 'rabbitmq', AMQP_URL, SLUICE_QUEUE: queue }
  const refused = await collect(
    spawnSluice(['start'], { ...rabbit, DATABASE_URL: db.url, PORT: '0' }),
  )
  t.equal(refused.code, 2, 'a configuration error')
  t.match(
    refused.stderr,
    `SLUICE_BROKER is rabbitmq, but ${join(dir, 'queue.db')} still holds ${EVENTS} message(s)`,
  )
  t.match(refused.stderr, /sluice queue drain/)
  t.notMatch(refused.stdout, /"listening"/, 'it never listened')
  t.equal(localQueueBacklog(dir), EVENTS, 'queue.db is untouched')

  // 3. The drain moves them to RabbitMQ; a second one has nothing left to move.
  const drained = await collect(spawnSluice(['queue', 'drain', '--timeout', '120'], rabbit))
  t.equal(drained.code, 0, drained.stderr)
  t.same(JSON.parse(drained.stdout), { moved: EVENTS })
  t.equal(localQueueBacklog(dir), 0)
  const again = await collect(spawnSluice(['queue', 'drain'], rabbit))
  t.same(JSON.parse(again.stdout), { moved: 0 })

  // 4. Now the engine starts on RabbitMQ and stores every acknowledged event exactly once.
  const engine = new EngineChild({ ...rabbit, DATABASE_URL: db.url })
  engines.push(engine)
  await engine.start()
  const storedIds = await waitForStoredIds(t, db.url, EVENTS)
  const ids = await storedIds()
  t.equal(ids.length, EVENTS, 'one row per event')
  t.same(new Set(ids), acked, 'exactly the acknowledged ones')
  t.equal(await engine.stop(), 0)
})

failOnLeaks(t)
