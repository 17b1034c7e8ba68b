import t, { type Test } from 'tap'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { EngineChild } from './helpers/engine-child.js'
import { startFakeSqs } from './helpers/fauxqs.js'
import { freshDatabase } from './helpers/pg.js'
import { postMany } from './helpers/post.js'
import { deleteRabbitTopology } from './helpers/broker-fixtures.js'
import { TcpProxy } from './helpers/tcp-proxy.js'
import { until } from './helpers/wait.js'
import { failOnLeaks } from './helpers/leaks.js'

const EVENTS = Number(process.env.E2E_EVENTS ?? 5000)
/**
 * Per broker: the senders' deadline for thousands of posts through an outage and a restart,
 * and the waits after it. Safety nets on a loaded 2-core machine, not timings; the file's
 * timeout (.taprc, 600 s) is raised to hold three brokers at these bounds.
 */
const POST_DEADLINE_MS = 400_000
const STORE_DEADLINE_MS = 180_000
t.setTimeout(3 * (POST_DEADLINE_MS + STORE_DEADLINE_MS + 60_000))

interface BrokerSetup {
  env: NodeJS.ProcessEnv
  /** The link the test cuts, or null when the broker is in-process (local). */
  proxy: TcpProxy | null
  cleanup(): Promise<void>
}

const brokers: Record<string, () => Promise<BrokerSetup>> = {
  local: async () => ({ env: { SLUICE_BROKER: 'local' }, proxy: null, cleanup: async () => {} }),
  rabbitmq: async () => {
    const queue = `sluice.test.e2e-${process.pid}-${Date.now().toString(36)}`
    const proxy = new TcpProxy('127.0.0.1', 5672)
    const port = await proxy.start()
    return {
      env: {
        SLUICE_BROKER: 'rabbitmq',
        AMQP_URL: `amqp://guest:guest@127.0.0.1:${port}`,
        SLUICE_QUEUE: queue,
      },
      proxy,
      async cleanup() {
        await proxy.close()
        await deleteRabbitTopology(queue)
      },
    }
  },
  sqs: async () => {
    const sqs = await startFakeSqs()
    const { queueUrl, dlqUrl } = await sqs.createQueue('sluice-e2e', 10)
    const proxy = new TcpProxy('127.0.0.1', Number(new URL(sqs.endpoint).port))
    const port = await proxy.start()
    return {
      env: {
        SLUICE_BROKER: 'sqs',
        SQS_QUEUE_URL: queueUrl,
        SQS_DLQ_URL: dlqUrl,
        AWS_ENDPOINT_URL_SQS: `http://127.0.0.1:${port}`,
        AWS_REGION: 'us-east-1',
        AWS_ACCESS_KEY_ID: 'test',
        AWS_SECRET_ACCESS_KEY: 'test',
      },
      proxy,
      async cleanup() {
        await proxy.close()
        await sqs.close()
      },
    }
  },
}

async function endToEnd(t: Test, name: string) {
  const broker = await brokers[name]!()
  const db = await freshDatabase(`sluice_e2e_${name}`)
  const dataDir = mkdtempSync(join(tmpdir(), `sluice-e2e-${name}-`))
  const engine = new EngineChild({
    ...broker.env,
    DATABASE_URL: db.url,
    SLUICE_DATA_DIR: dataDir,
    SLUICE_WORKERS: '2',
  })
  const pool = new pg.Pool({ connectionString: db.url, max: 2 })
  t.teardown(async () => {
    await engine.kill9()
    await pool.end()
    await broker.cleanup()
    await db.drop()
    rmSync(dataDir, { recursive: true, force: true })
  })
  await engine.start()

  /** Whether /readyz shows the engine noticed the outage: broker not up, or publishes failing. */
  const outageSeen = async () => {
    try {
      const res = await fetch(`http://127.0.0.1:${engine.port}/readyz`)
      const body = (await res.json()) as {
        checks: { broker?: { state?: string; consecutiveFailures?: number } }
      }
      const b = body.checks.broker
      return b !== undefined && (b.state !== 'up' || (b.consecutiveFailures ?? 0) > 0)
    } catch {
      return false // engine restarting
    }
  }
  let cut = false
  let restored = false
  let ackedSoFar = 0
  let killed = false
  // The signal the engine died of when the test killed it, and whether it came back.
  let killedBy: NodeJS.Signals | null = null
  let restarted = false
  const faults: Promise<void>[] = []
  const acked = await postMany({
    url: () => engine.url,
    count: EVENTS,
    concurrency: 16,
    idPrefix: `e2e-${name}`,
    deadline: Date.now() + POST_DEADLINE_MS,
    onProgress: (n) => {
      ackedSoFar = n
      if (broker.proxy && !cut && n >= EVENTS * 0.25) {
        cut = true
        broker.proxy.cut()
        // Restore once the engine saw the broker go away and kept acknowledging a further
        // tenth of the events meanwhile (they wait in the journal).
        const more = n + Math.ceil(EVENTS * 0.1)
        const restore = until(
          'the engine reports the outage and acknowledged more events during it',
          async () => ackedSoFar >= more && (await outageSeen()),
          180000,
          100,
        )
          .then(() => {
            restored = true
          })
          .finally(() => broker.proxy!.restore())
        restore.catch(() => {}) // reported by Promise.all(faults) below
        faults.push(restore)
      }
      if (!killed && n >= EVENTS * 0.6) {
        killed = true
        const restart = engine
          .kill9()
          .then((signal) => {
            killedBy = signal
            return engine.start()
          })
          .then(() => {
            restarted = true
          })
        restart.catch(() => {}) // reported by Promise.all(faults) below
        faults.push(restart)
      }
    },
  })
  await Promise.all(faults)
  t.equal(acked.size, EVENTS, 'every event was eventually acknowledged (senders retry)')
  t.equal(killedBy, 'SIGKILL', 'the engine was killed with SIGKILL mid-run')
  t.ok(restarted, 'and restarted on its data directory')
  if (broker.proxy) {
    t.ok(
      cut && restored,
      'the broker link was cut until the engine reported the outage and acknowledged a further tenth of the events',
    )
  }

  const rows = async () =>
    (
      await pool.query<{ n: number; d: number }>(
        `SELECT count(*)::int AS n, count(DISTINCT (source, id))::int AS d FROM events WHERE id LIKE $1`,
        [`e2e-${name}-%`],
      )
    ).rows[0]!
  await until(
    'every acknowledged event is a row',
    // The pipeline thread of the restarted engine may not have created the tables yet.
    async () => (await rows().catch(() => ({ d: 0 }))).d >= acked.size,
    STORE_DEADLINE_MS,
    250,
  )
  const { n, d } = await rows()
  t.equal(d, EVENTS, 'every acknowledged (source, id) is in Postgres')
  t.equal(n, d, 'exactly one row each: no duplicates')
  const missing = await pool.query<{ m: number }>(
    `SELECT count(*)::int AS m FROM unnest($1::text[]) AS a(id) WHERE NOT EXISTS (SELECT 1 FROM events e WHERE e.source = 'default' AND e.id = a.id)`,
    [[...acked]],
  )
  t.equal(missing.rows[0]!.m, 0, 'no acknowledged id is missing')
  t.equal(await engine.stop(), 0, 'graceful shutdown exits 0')
}

for (const name of Object.keys(brokers)) {
  // The local broker is in-process: there is no link to cut, only the kill.
  const faults = name === 'local' ? 'engine kill -9' : 'broker link cut, engine kill -9'
  t.test(`end to end through ${name}: ${faults}, every 200 is exactly one row`, (t) =>
    endToEnd(t, name),
  )
}

failOnLeaks(t)
