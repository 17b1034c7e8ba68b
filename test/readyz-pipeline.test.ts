import t from 'tap'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pino } from 'pino'
import { loadConfig } from '../src/config.js'
import { Engine } from '../src/engine.js'
import { freshDatabase } from './helpers/pg.js'
import { post } from './helpers/post.js'
import { deleteRabbitTopology } from './helpers/broker-fixtures.js'
import { TcpProxy } from './helpers/tcp-proxy.js'
import { until } from './helpers/wait.js'
import { failOnLeaks } from './helpers/leaks.js'

interface Ready {
  status: string
  checks: {
    journal: { backlog: number; oldestPendingAgeMs: number | null }
    broker: { ok: boolean; state: string; consecutiveFailures: number }
    database: { ok: boolean; state: string; consuming: boolean }
  }
}

t.test('readiness and metrics follow a broker outage while ingest stays up', async (t) => {
  const db = await freshDatabase('sluice_readyz')
  const dir = mkdtempSync(join(tmpdir(), 'sluice-readyz-'))
  const queue = `sluice.test.readyz-${process.pid}-${Date.now().toString(36)}`
  const proxy = new TcpProxy('127.0.0.1', 5672)
  const proxyPort = await proxy.start()
  const config = loadConfig({
    PORT: '0',
    SLUICE_ADMIN_PORT: '0',
    HOST: '127.0.0.1',
    SLUICE_DATA_DIR: dir,
    DATABASE_URL: db.url,
    SLUICE_BROKER: 'rabbitmq',
    AMQP_URL: `amqp://guest:guest@127.0.0.1:${proxyPort}`,
    SLUICE_QUEUE: queue,
    SLUICE_WORKERS: '1',
  })
  const engine = new Engine(config, {
    logger: pino({ level: 'silent' }),
    pipeline: {
      brokers: { rabbitmq: { reconnectBaseMs: 100, reconnectMaxMs: 500, publishTimeoutMs: 2000 } },
      forwarder: { retryBaseMs: 50, retryCapMs: 500 },
    },
  })
  t.teardown(async () => {
    await engine.close()
    await proxy.close()
    await deleteRabbitTopology(queue)
    await db.drop()
    rmSync(dir, { recursive: true, force: true })
  })
  await engine.start()
  const base = `http://127.0.0.1:${engine.port}`
  const ready = async (): Promise<{ status: number; body: Ready }> => {
    const res = await fetch(`${base}/readyz`)
    return { status: res.status, body: (await res.json()) as Ready }
  }
  await engine.pipeline.ready()
  const up = await ready()
  t.equal(up.status, 200)
  t.match(up.body.checks, { broker: { state: 'up' }, database: { state: 'up', consuming: true } })

  proxy.cut()
  await until(
    'the broker is reported down',
    async () => (await ready()).body.checks.broker.state !== 'up',
  )
  for (let i = 0; i < 20; i++) {
    const res = await post(`${base}/webhook`, `{"type":"t","i":${i}}`, {
      'idempotency-key': `r-${i}`,
    })
    t.equal(res.status, 200, `event ${i} acknowledged while the broker is down`)
  }
  await until(
    'the backlog has an age',
    async () => ((await ready()).body.checks.journal.oldestPendingAgeMs ?? 0) > 0,
  )
  const down = await ready()
  t.equal(down.status, 200, '/readyz stays 200: ingest works without the broker')
  t.equal(down.body.checks.journal.backlog, 20, 'the backlog is the 20 unforwarded events')
  t.match(
    await (await fetch(`${base}/metrics`)).text(),
    /sluice_forwarder_backlog 20\n/,
    'the backlog gauge says the same',
  )
  t.ok(down.body.checks.broker.consecutiveFailures > 0 || down.body.checks.broker.state !== 'up')

  proxy.restore()
  await until('the backlog drained', async () => (await ready()).body.checks.journal.backlog === 0)
  await until('the events were stored', async () => {
    const metrics = await (await fetch(`${base}/metrics`)).text()
    return /sluice_events_processed_total\{outcome="stored"\} 20/.test(metrics)
  })
  const metrics = await (await fetch(`${base}/metrics`)).text()
  t.match(metrics, /sluice_event_latency_seconds_count 20/, 'end-to-end latency observed per event')
  t.match(metrics, /sluice_events_forwarded_total 20/)
  const after = await ready()
  t.equal(after.body.checks.journal.oldestPendingAgeMs, null, 'nothing pending any more')
})

failOnLeaks(t)
