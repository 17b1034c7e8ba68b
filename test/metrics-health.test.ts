import t from 'tap'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { pino } from 'pino'
import { loadConfig } from '../src/config.js'
import { writeDeadLetters } from '../src/db/dead-letters.js'
import { Engine } from '../src/engine.js'
import { deleteRabbitTopology } from './helpers/broker-fixtures.js'
import { freshDatabase } from './helpers/pg.js'
import { post } from './helpers/post.js'
import { TcpProxy } from './helpers/tcp-proxy.js'
import { until } from './helpers/wait.js'
import { failOnLeaks } from './helpers/leaks.js'

/**
 * The gauges alerts use follow what really happens: the broker and the database cut and
 * restored through TCP proxies, a dead letter written into Postgres, a backlog in the journal.
 */
const version = (
  JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
    version: string
  }
).version

t.test('alerting gauges follow broker and database outages', async (t) => {
  const db = await freshDatabase('sluice_metrics_health')
  const dir = mkdtempSync(join(tmpdir(), 'sluice-metrics-health-'))
  const queue = `sluice.test.metrics-${process.pid}-${Date.now().toString(36)}`
  const amqp = new TcpProxy('127.0.0.1', 5672)
  const postgres = new TcpProxy('127.0.0.1', 5432)
  await Promise.all([amqp.start(), postgres.start()])
  const direct = new pg.Pool({ connectionString: db.url, max: 1 })
  const config = loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    SLUICE_ADMIN_PORT: '0',
    SLUICE_DATA_DIR: dir,
    DATABASE_URL: db.url.replace('127.0.0.1:5432', `127.0.0.1:${postgres.port}`),
    SLUICE_BROKER: 'rabbitmq',
    AMQP_URL: `amqp://guest:guest@127.0.0.1:${amqp.port}`,
    SLUICE_QUEUE: queue,
    SLUICE_WORKERS: '1',
    SLUICE_BURST_LAG_MS: '0',
  })
  const engine = new Engine(config, {
    logger: pino({ level: 'silent' }),
    pipeline: {
      brokers: { rabbitmq: { reconnectBaseMs: 100, reconnectMaxMs: 500, publishTimeoutMs: 2000 } },
      forwarder: { retryBaseMs: 50, retryCapMs: 500 },
      deadLetterCountMs: 100,
    },
  })
  t.teardown(async () => {
    await engine.close()
    await direct.end()
    await Promise.all([amqp.close(), postgres.close()])
    await deleteRabbitTopology(queue)
    await db.drop()
    rmSync(dir, { recursive: true, force: true })
  })
  await engine.start()
  const base = `http://127.0.0.1:${engine.port}`
  const scrape = async () => (await fetch(`${base}/metrics`)).text()
  const value = async (series: string) => {
    const m = new RegExp(`^${series.replace(/[{}"]/g, '\\$&')} (\\S+)$`, 'm').exec(await scrape())
    return m ? Number(m[1]) : null
  }
  const becomes = (series: string, ok: (v: number) => boolean, what: string) =>
    until(what, async () => {
      const v = await value(series)
      return v !== null && ok(v)
    })

  await engine.pipeline.ready()
  await becomes('sluice_broker_up', (v) => v === 1, 'the broker is up')
  await becomes('sluice_database_up', (v) => v === 1, 'the database is up')
  t.equal(await value('sluice_dead_letters'), 0, 'no dead letters yet')
  t.equal(await value('sluice_journal_oldest_pending_age_seconds'), 0, 'nothing pending')
  t.ok(Number(await value('sluice_journal_bytes')) > 0, 'the journal has a size')
  t.ok(Number(await value('sluice_journal_max_bytes')) > 0, 'and a limit')
  t.ok(Number(await value('sluice_journal_disk_free_bytes')) > 0, 'the disk has free space')
  t.equal(
    await value(`sluice_build_info{version="${version}",node="${process.version}"}`),
    1,
    'build info: once, summed across threads',
  )

  const text = await scrape()
  for (const name of [
    'process_cpu_seconds_total',
    'process_resident_memory_bytes',
    'process_start_time_seconds',
    'nodejs_eventloop_lag_seconds',
    'nodejs_heap_size_used_bytes',
  ]) {
    t.match(text, new RegExp(`^${name} \\S+$`, 'm'), `${name} under its standard name`)
  }
  t.notMatch(text, /sluice_process_/, 'no prefixed process metrics any more')
  const types = text.match(/^# TYPE \S+/gm) ?? []
  t.equal(new Set(types).size, types.length, 'each metric once, summed across threads')

  // A dead letter written by anyone into the shared table is counted.
  await writeDeadLetters(direct, [
    {
      event: {
        id: 'dl-1',
        source: 'default',
        receivedAt: Date.now(),
        contentType: 'application/json',
        headers: {},
        body: Buffer.from('{}'),
        verifiedBy: null,
      },
      reason: 'invalid_event',
      attempts: 1,
      error: 'test',
    },
  ])
  await becomes('sluice_dead_letters', (v) => v === 1, 'the dead letter is counted')

  amqp.cut()
  await becomes('sluice_broker_up', (v) => v === 0, 'the broker is reported down')
  t.equal(await value('sluice_database_up'), 1, 'the database is not')
  for (let i = 0; i < 5; i++) {
    const res = await post(`${base}/webhook`, `{"i":${i}}`, { 'idempotency-key': `mh-${i}` })
    t.equal(res.status, 200, `event ${i} acknowledged with the broker down`)
  }
  await becomes('sluice_forwarder_backlog', (v) => v === 5, 'the backlog is the 5 events')
  await becomes(
    'sluice_journal_oldest_pending_age_seconds',
    (v) => v > 0,
    'the backlog has an age in seconds',
  )
  amqp.restore()
  await becomes('sluice_broker_up', (v) => v === 1, 'the broker is back up')
  await becomes('sluice_journal_oldest_pending_age_seconds', (v) => v === 0, 'backlog drained')

  postgres.cut()
  await becomes('sluice_database_up', (v) => v === 0, 'the database is reported down')
  t.equal(await value('sluice_broker_up'), 1, 'the broker is not')
  postgres.restore()
  await becomes('sluice_database_up', (v) => v === 1, 'the database is back up')
  t.equal(await value('sluice_dead_letters'), 1, 'the count kept its value through the outage')
})

failOnLeaks(t)
