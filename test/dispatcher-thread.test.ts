import t from 'tap'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pino } from 'pino'
import { loadConfig } from '../src/config.js'
import { dispatcherThread } from '../src/dispatcher/thread.js'
import { registry } from '../src/metrics.js'
import { upsertSubscription } from '../src/db/subscriptions.js'
import { SecretBox, loadSecretKey } from '../src/util/secret-box.js'
import { dispatchDb, receiver } from './helpers/dispatch.js'
import { failOnLeaks } from './helpers/leaks.js'
import { until } from './helpers/wait.js'

const niceOf = (name: string) =>
  readdirSync('/proc/self/task')
    .filter((tid) => readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim() === name)
    .map((tid) => {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8')
      return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16])
    })

t.test('the dispatcher thread: named, niced, restarted when it dies', async (t) => {
  const db = await dispatchDb('sluice_dispatch_thread')
  const dir = mkdtempSync(join(tmpdir(), 'sluice-dispatch-thread-'))
  const rx = await receiver()
  t.teardown(async () => {
    await rx.close()
    await db.drop()
    rmSync(dir, { recursive: true, force: true })
  })
  const config = loadConfig({
    SLUICE_DATA_DIR: dir,
    DATABASE_URL: db.url,
    SLUICE_OUTBOUND_ALLOW: '127.0.0.1',
    SLUICE_PIPELINE_NICE: '7',
  })
  // Subscriptions sealed with the key the thread loads from the data directory.
  const key = loadSecretKey(undefined, dir).key
  const box = new SecretBox(key)
  const { subscription } = await upsertSubscription(
    db.pool,
    box,
    { url: rx.url() },
    () => `whsec_${key.toString('base64')}`,
  )
  t.ok(subscription.id)
  const thread = dispatcherThread(
    config,
    { url: db.url, embedded: false },
    pino({ level: 'silent' }),
  )
  t.teardown(() => thread.close())
  thread.start()
  await db.store([{ id: 't1' }])
  await until('delivered by the thread', () => rx.received.length === 1, 30_000)
  t.same(niceOf('sluice-dispatch'), [7], 'one thread named sluice-dispatch, at the pipeline nice')
  const metrics = await thread.metrics()
  t.ok(
    metrics[0]?.some((m) => m.name === 'sluice_deliveries_total'),
    'its registry answers for /metrics',
  )

  await thread.terminate()
  const restarts = async () =>
    (await registry.getSingleMetric('sluice_dispatcher_thread_restarts_total')?.get())?.values[0]
      ?.value ?? 0
  await until('restarted', async () => (await restarts()) === 1, 10_000)
  await db.store([{ id: 't2' }])
  await until('delivered after the restart', () => rx.received.length === 2, 30_000)
  t.equal(rx.received.length, 2)
})

failOnLeaks(t)
