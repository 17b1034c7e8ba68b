import t from 'tap'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import pg from 'pg'
import { pino } from 'pino'
import { loadConfig } from '../src/config.js'
import { Engine } from '../src/engine.js'
import { PipelineThread } from '../src/pipeline/pipeline-thread.js'
import { deleteRabbitTopology } from './helpers/broker-fixtures.js'
import { failOnLeaks } from './helpers/leaks.js'
import { freshDatabase } from './helpers/pg.js'
import { postMany } from './helpers/post.js'
import { until } from './helpers/wait.js'

/** The engine's threads as Linux sees them: name and nice value, by thread id. */
function threads(): { tid: number; name: string; nice: number }[] {
  return readdirSync('/proc/self/task').map((tid) => {
    const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return {
      tid: Number(tid),
      name: readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim(),
      nice: Number(fields[16]),
    }
  })
}

t.test('the pipeline runs in its own thread, survives its death, and loses nothing', async (t) => {
  const db = await freshDatabase('sluice_actor')
  const dir = mkdtempSync(join(tmpdir(), 'sluice-actor-'))
  const queue = `sluice.test.actor-${process.pid}-${Date.now().toString(36)}`
  const lines: Record<string, unknown>[] = []
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString().split('\n').filter(Boolean))
        lines.push(JSON.parse(l) as Record<string, unknown>)
      done()
    },
  })
  const config = loadConfig({
    PORT: '0',
    SLUICE_ADMIN_PORT: '0',
    HOST: '127.0.0.1',
    SLUICE_DATA_DIR: dir,
    DATABASE_URL: db.url,
    SLUICE_BROKER: 'rabbitmq',
    SLUICE_QUEUE: queue,
    SLUICE_WORKERS: '1',
  })
  const engine = new Engine(config, {
    logger: pino({ level: 'info' }, sink),
    pipeline: { nice: 5, restartCapMs: 500 },
  })
  const pool = new pg.Pool({ connectionString: db.url, max: 1 })
  t.teardown(async () => {
    await engine.close()
    await pool.end()
    await deleteRabbitTopology(queue)
    await db.drop()
    rmSync(dir, { recursive: true, force: true })
  })
  await engine.start()
  await engine.pipeline.ready()
  t.ok(engine.pipeline instanceof PipelineThread, 'the default placement is a thread')

  t.ok(
    lines.some((l) => l.msg === 'pipeline running' && l.broker === 'rabbitmq' && l.level === 30),
    "the thread's log lines come out of the engine's logger with their level and fields",
  )

  const before = new Set(
    threads()
      .filter((th) => th.name === 'sluice-pipeline')
      .map((th) => th.tid),
  )
  t.ok(before.size >= 1, 'a thread is named sluice-pipeline before the kill')
  const base = `http://127.0.0.1:${engine.port}`
  let killed = false
  const acked = await postMany({
    url: () => `${base}/webhook`,
    count: 600,
    concurrency: 8,
    idPrefix: 'actor',
    onProgress: (n) => {
      if (n === 200 && !killed) {
        killed = true
        void (engine.pipeline as PipelineThread).terminate()
      }
    },
  })
  t.equal(acked.size, 600, 'ingest answered 200 to every event, before, during and after')
  await until(
    'every acknowledged event is stored',
    async () => {
      const r = await pool.query<{ n: string }>('SELECT count(*) AS n FROM events')
      return Number(r.rows[0]?.n) >= acked.size
    },
    120_000,
    200,
  )
  const rows = await pool.query<{ id: string; n: string }>(
    'SELECT id, count(*) AS n FROM events GROUP BY id',
  )
  t.equal(rows.rows.length, 600, 'one row per acknowledged event')
  t.ok(
    rows.rows.every((r) => r.n === '1' && acked.has(r.id)),
    'no event stored twice, none that was not acknowledged',
  )
  t.ok(
    lines.some((l) => l.msg === 'pipeline thread died; events stay in the journal; restarting'),
    'the death is logged at error with the restart',
  )
  // Threads inherit their creator's name until they name themselves (Piscina workers do when
  // their task module loads), so the names are checked once the workers have stored events.
  const pipelineThreads = threads().filter((th) => th.name === 'sluice-pipeline')
  t.ok(pipelineThreads.length >= 1, 'the pipeline thread is named sluice-pipeline')
  t.ok(
    pipelineThreads.every((th) => !before.has(th.tid)),
    'none of the threads that died is left: a new one took over',
  )
  t.ok(
    pipelineThreads.every((th) => th.nice === 5),
    'it runs at the configured nice value',
  )
  const main = threads().find((th) => th.tid === process.pid)
  t.equal(main?.nice, 0, 'the HTTP thread keeps its priority')
  const workers = threads().filter((th) => th.name === 'sluice-worker')
  t.ok(workers.length >= 1, 'the Postgres workers name their threads')
  t.ok(
    workers.every((th) => th.nice === 5),
    'threads started by the pipeline thread inherit its priority',
  )

  // The restarted thread has no earlier answer to fall back on: a scrape while it is too busy
  // to answer within its bound lacks its series, so look until one has them.
  let metrics = ''
  const forwarded = () => Number(/^sluice_events_forwarded_total (\d+)$/m.exec(metrics)?.[1])
  await until(
    "a scrape with the pipeline thread's counters",
    async () => {
      metrics = await (await fetch(`${base}/metrics`)).text()
      return forwarded() > 0
    },
    30_000,
    250,
  ).catch(() => {})
  t.match(metrics, /^sluice_pipeline_thread_restarts_total 1$/m, 'the restart is counted')
  t.ok(forwarded() > 0, "the pipeline thread's counters are served by /metrics")
  const types = metrics.match(/^# TYPE \S+/gm) ?? []
  t.equal(new Set(types).size, types.length, 'each metric appears once, summed across threads')
  t.match(metrics, /^process_cpu_user_seconds_total /m, 'process metrics are there once')
})

failOnLeaks(t)
