import t from 'tap'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { pino } from 'pino'
import { loadConfig } from '../src/config.js'
import { Engine } from '../src/engine.js'
import { listDeadLetters } from '../src/db/dead-letters.js'
import { FAKE_AWS_ENV } from './helpers/broker-fixtures.js'
import { startFakeSqs } from './helpers/fauxqs.js'
import { freshDatabase } from './helpers/pg.js'
import { post } from './helpers/post.js'
import { collect, spawnSluice } from './helpers/spawn.js'
import { until } from './helpers/wait.js'
import { failOnLeaks } from './helpers/leaks.js'

interface BrokerCheck {
  ok: boolean
  code?: string
  error?: string
  since?: string
}

/**
 * The new user's path: one plain SQS queue (no RedrivePolicy, no SQS_DLQ_URL). Sluice 0.1 never
 * started its broker on it and stored nothing; now events are stored, a poison event lands in
 * the Postgres dead-letter table, and `sluice dlq redrive` brings it back. Before that, the
 * queue does not exist yet: a permanent error that /readyz shows while ingest keeps answering.
 */
t.test('a plain SQS queue end to end, with a permanent error before it exists', async (t) => {
  const sqs = await startFakeSqs()
  const db = await freshDatabase('sluice_sqs_plain')
  const dir = mkdtempSync(join(tmpdir(), 'sluice-sqs-plain-'))
  const pool = new pg.Pool({ connectionString: db.url, max: 2 })
  // The URL the queue will have once created (fauxqs's host, account and the name).
  const name = `plain-${process.pid}-${Date.now().toString(36)}`
  const port = new URL(sqs.endpoint).port
  const futureUrl = `http://sqs.us-east-1.localhost:${port}/000000000000/${name}`
  for (const [k, v] of Object.entries(FAKE_AWS_ENV)) process.env[k] = v
  const config = loadConfig({
    PORT: '0',
    SLUICE_ADMIN_PORT: '0',
    HOST: '127.0.0.1',
    SLUICE_DATA_DIR: dir,
    DATABASE_URL: db.url,
    SLUICE_BROKER: 'sqs',
    SQS_QUEUE_URL: futureUrl,
    AWS_ENDPOINT_URL_SQS: sqs.endpoint,
    SLUICE_WORKERS: '1',
    SLUICE_MAX_ATTEMPTS: '2',
  })
  const engine = new Engine(config, {
    logger: pino({ level: process.env.DEBUG_LOG ? 'debug' : 'silent' }),
    pipeline: {
      permanentRetryMs: 300,
      brokers: { sqs: { waitTimeSeconds: 1 } },
      consumer: { retryBaseMs: 100, retryCapMs: 1000 },
      forwarder: { retryBaseMs: 50, retryCapMs: 300 },
    },
  })
  t.teardown(async () => {
    await engine.close()
    await pool.end()
    await sqs.close()
    await db.drop()
    rmSync(dir, { recursive: true, force: true })
  })
  await engine.start()
  const base = `http://127.0.0.1:${engine.port}`
  const readyz = async () => {
    const res = await fetch(`${base}/readyz`)
    const body = (await res.json()) as { checks: { broker: BrokerCheck } }
    return { status: res.status, broker: body.checks.broker }
  }

  await until('/readyz reports the missing queue', async () => !(await readyz()).broker.ok)
  const missing = await readyz()
  t.equal(missing.status, 200, '/readyz keeps answering 200: the journal accepts events')
  t.equal(missing.broker.code, 'broker_queue_missing')
  t.match(missing.broker.error, /does not exist/)
  t.ok(missing.broker.since && !Number.isNaN(Date.parse(missing.broker.since)), 'since when')
  const early = await post(`${base}/webhook`, '{"type":"early"}', { 'idempotency-key': 'early' })
  t.equal(early.status, 200, 'ingest answers 200 while the broker is misconfigured')

  const created = await sqs.createPlainQueueNamed(name)
  t.equal(created, futureUrl, 'the queue the engine names')
  await engine.pipeline.ready()
  t.ok((await readyz()).broker.ok, 'recovered by itself once the queue exists')

  // Postgres refuses one event (an operator's trigger): it exhausts its attempts.
  await pool.query(`CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN IF NEW.id = 'poison' THEN RAISE EXCEPTION 'refused by trigger'; END IF;
    RETURN NEW; END $$`)
  await pool.query(
    'CREATE TRIGGER refuse BEFORE INSERT ON event_keys FOR EACH ROW EXECUTE FUNCTION refuse()',
  )
  const ids = ['poison', ...Array.from({ length: 50 }, (_, i) => `e-${i}`)]
  for (const id of ids) {
    const res = await post(`${base}/webhook`, JSON.stringify({ type: 'order.paid', id }), {
      'idempotency-key': id,
    })
    t.equal(res.status, 200)
  }
  const stored = async () =>
    // Sluice's own events (dead_letter.created) are not the posted ones.
    (
      await pool.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM events WHERE source <> 'sluice'",
      )
    ).rows[0]!.n
  await until('every other event is a row', async () => (await stored()) === ids.length)
  await until('the poison event is a dead letter', async () => {
    return (await listDeadLetters(pool)).length === 1
  })
  const [letter] = await listDeadLetters(pool)
  t.match(letter, { event: { id: 'poison' }, reason: 'attempts_exhausted', attempts: 2 })
  t.match(letter?.lastError, /refused by trigger/)

  // The running engine's admin API answers (its pid is in lock.json), not the database.
  const env = {
    ...FAKE_AWS_ENV,
    DATABASE_URL: db.url,
    SLUICE_DATA_DIR: dir,
    SLUICE_ADMIN_PORT: String(engine.adminPort),
  }
  const listed = await collect(spawnSluice(['dlq', 'list'], env))
  t.equal(listed.code, 0, listed.stderr)
  t.match(JSON.parse(listed.stdout.trim()), { id: 'poison', reason: 'attempts_exhausted' })

  await pool.query('DROP TRIGGER refuse ON event_keys')
  const redrive = await collect(spawnSluice(['dlq', 'redrive', '--id', 'poison'], env))
  t.equal(redrive.code, 0, redrive.stderr)
  t.same(JSON.parse(redrive.stdout.trim()), { redriven: 1, failed: 0 })
  t.equal(await stored(), ids.length + 1, 'the redriven event is a row; nothing doubled')
  t.same(await listDeadLetters(pool), [], 'no dead letters left')
  const empty = await collect(spawnSluice(['dlq', 'list'], env))
  t.equal(empty.stdout, '', 'dlq list prints nothing at all when there are none')
})

failOnLeaks(t)
