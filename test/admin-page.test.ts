import t from 'tap'
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { pino } from 'pino'
import { loadConfig } from '../src/config.js'
import { Engine } from '../src/engine.js'
import { deleteRabbitTopology } from './helpers/broker-fixtures.js'
import { launchChromium, numberOf, textOf } from './helpers/browser.js'
import { failOnLeaks } from './helpers/leaks.js'
import { freshDatabase } from './helpers/pg.js'
import { post } from './helpers/post.js'
import { TcpProxy } from './helpers/tcp-proxy.js'
import { until } from './helpers/wait.js'

const TOKEN = 'operator-page-test-token-0123'
const ARTIFACTS = join(import.meta.dirname, 'artifacts')

/**
 * The operator page in a real browser against a real engine (RabbitMQ through a proxy this test
 * cuts, a fresh Postgres): the token form, counts that move, an event opened, a dead letter
 * redriven from the page, and the broker outage shown.
 */
t.test('the operator page shows the engine and acts on it', async (t) => {
  const db = await freshDatabase('sluice_admin_page')
  const dir = mkdtempSync(join(tmpdir(), 'sluice-admin-page-'))
  const queue = `sluice.test.admin-page-${process.pid}-${Date.now().toString(36)}`
  const proxy = new TcpProxy('127.0.0.1', 5672)
  const proxyPort = await proxy.start()
  const pool = new pg.Pool({ connectionString: db.url, max: 2 })
  const engine = new Engine(
    loadConfig({
      PORT: '0',
      HOST: '127.0.0.1',
      SLUICE_ADMIN_PORT: '0',
      SLUICE_ADMIN_HOST: '127.0.0.1',
      SLUICE_ADMIN_TOKEN: TOKEN,
      SLUICE_DATA_DIR: dir,
      DATABASE_URL: db.url,
      SLUICE_BROKER: 'rabbitmq',
      AMQP_URL: `amqp://guest:guest@127.0.0.1:${proxyPort}`,
      SLUICE_QUEUE: queue,
      SLUICE_WORKERS: '1',
      SLUICE_MAX_ATTEMPTS: '1',
    }),
    {
      logger: pino({ level: 'silent' }),
      pipeline: {
        brokers: {
          rabbitmq: { reconnectBaseMs: 100, reconnectMaxMs: 500, publishTimeoutMs: 2000 },
        },
        forwarder: { retryBaseMs: 50, retryCapMs: 500 },
        consumer: { retryBaseMs: 100, retryCapMs: 500 },
      },
    },
  )
  const browser = await launchChromium()
  t.teardown(async () => {
    await browser.close()
    await engine.close()
    await pool.end()
    await proxy.close()
    await deleteRabbitTopology(queue)
    await db.drop()
    rmSync(dir, { recursive: true, force: true })
  })
  mkdirSync(ARTIFACTS, { recursive: true })
  await engine.start()
  await engine.pipeline.ready()
  const webhook = `http://127.0.0.1:${engine.port}/webhook`
  const admin = `http://127.0.0.1:${engine.adminPort}`

  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } })
  page.setDefaultTimeout(30000)
  const requests: string[] = []
  const pageErrors: string[] = []
  page.on('request', (r) => requests.push(r.url()))
  page.on('pageerror', (err) => pageErrors.push(err.message))
  const tone = (selector: string) => page.locator(selector).getAttribute('data-tone')
  const visible = (selector: string) => page.locator(selector).isVisible()
  const signIn = async (token: string) => {
    await page.fill('#token', token)
    await page.click('#login-form button[type=submit]')
  }

  await page.goto(`${admin}/`)
  t.ok(await visible('#login'), 'the token form comes first')
  t.notOk(await visible('#dashboard'), 'no dashboard before a token')
  await signIn('not-the-token-0123456789')
  await until('a refused token is said', async () =>
    /401/.test(await textOf(page, '#login-message')),
  )
  t.ok(await visible('#login'), 'a 401 brings the form back')
  t.notOk(await visible('#dashboard'))
  await signIn(TOKEN)
  await page.locator('#dashboard').waitFor({ state: 'visible' })
  t.equal(await page.evaluate(() => sessionStorage.getItem('sluice.adminToken')), TOKEN)
  await until('the page shows the engine healthy', async () => (await tone('#overall')) === 'ok')
  t.equal(await tone('#broker-state'), 'ok', 'broker badge green')
  t.equal(await tone('#database-state'), 'ok', 'database badge green')
  // The dispatcher's check: its claims and writes get through, LISTEN connected.
  await until('the database line says outbound delivery works', async () =>
    /· consuming · delivering$/.test(await textOf(page, '#database-detail')),
  )
  t.equal(await numberOf(page, '#received-total'), 0, 'nothing received yet')

  // Counts move: 20 events posted to the webhook port.
  for (let i = 0; i < 20; i++) {
    const res = await post(webhook, JSON.stringify({ type: 'order.paid', i }), {
      'idempotency-key': `e-${i}`,
    })
    t.equal(res.status, 200)
  }
  const total = (id: string) => async () => (await numberOf(page, id)) === 20
  await until('the page counts 20 received', total('#received-total'))
  await until('the page counts 20 stored', total('#stored-total'))
  // The history has a point per 5 s: the line appears once there are two, one above zero.
  await until('the chart draws the rate', async () => {
    const peak = Number(await page.locator('#chart').getAttribute('data-peak'))
    return peak > 0 && (await page.locator('#chart polyline.received').count()) === 1
  })

  // The event list, its filters, and one event opened.
  await page.fill('#filter-type', 'no.such.type')
  await page.click('#events-filter button[type=submit]')
  await until('the filter leaves no rows', async () => {
    return (await page.locator('#event-rows tr[data-event]').count()) === 0
  })
  await page.fill('#filter-source', 'default')
  await page.fill('#filter-type', 'order.paid')
  await page.click('#events-filter button[type=submit]')
  await until('the filter finds the 20 events', async () => {
    return (await page.locator('#event-rows tr[data-event]').count()) === 20
  })
  await page.click('[data-event="default/e-7"]')
  await until('the event body is shown', async () => (await textOf(page, '#detail-body')) !== '')
  t.equal(
    await textOf(page, '#detail-body'),
    '{\n  "type": "order.paid",\n  "i": 7\n}',
    'pretty JSON',
  )
  t.match(await textOf(page, '#detail-body-kind'), /^JSON/)
  t.match(await textOf(page, '#detail-headers'), /idempotency-key\s*e-7/, 'its headers')
  await page.screenshot({ path: join(ARTIFACTS, 'admin-page-event.png') })
  await page.click('#detail-close')
  t.notOk(await visible('#drawer'), 'the event panel closes')

  // A dead letter: Postgres refuses one event (an operator's trigger), with one attempt allowed.
  await pool.query(`CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN IF NEW.id = 'poison' THEN RAISE EXCEPTION 'refused by trigger'; END IF;
    RETURN NEW; END $$`)
  await pool.query(
    'CREATE TRIGGER refuse BEFORE INSERT ON event_keys FOR EACH ROW EXECUTE FUNCTION refuse()',
  )
  const poison = await post(webhook, '{"type":"order.paid","id":"poison"}', {
    'idempotency-key': 'poison',
  })
  t.equal(poison.status, 200)
  const letter = page.locator('[data-dead="default/poison"]')
  await until('the page lists the dead letter', async () => (await letter.count()) === 1)
  t.match(await letter.textContent(), /refused by trigger/, 'with its error')
  await until('the tile counts it', async () => (await numberOf(page, '#dead-count')) === 1)

  // The broker link cut: ingest goes on into the journal, and the page says the broker is down
  // (red once the adapter is down or publishes fail; merely 'connecting' would be amber).
  proxy.cut()
  for (let i = 0; i < 5; i++) {
    const res = await post(webhook, `{"type":"order.paid","late":${i}}`, {
      'idempotency-key': `late-${i}`,
    })
    t.equal(res.status, 200, 'ingest answers while the broker is away')
  }
  await until('the broker badge turns red', async () => (await tone('#broker-state')) === 'bad')
  t.not(await textOf(page, '#broker-state'), 'up')
  t.equal(await tone('#overall'), 'warn', 'the headline says events wait in the journal')
  await until('the backlog shows the 5', async () => (await numberOf(page, '#backlog')) === 5)
  await until('with its age', async () => /oldest \d/.test(await textOf(page, '#backlog-age')))
  await page.evaluate(() => window.scrollTo(0, 0)) // clicks above scrolled the rows into view
  await page.screenshot({ path: join(ARTIFACTS, 'admin-page.png') })

  proxy.restore()
  await until('the broker badge turns green', async () => (await tone('#broker-state')) === 'ok')
  await until('the backlog drains', async () => (await numberOf(page, '#backlog')) === 0)

  // Redrive from the page once the trigger is gone: the letter leaves the list and is a row.
  await pool.query('DROP TRIGGER refuse ON event_keys')
  // "Retry": the API's one verb for trying again (the attribute keeps its first name).
  t.equal(await textOf(page, '[data-retry="default/poison"]'), 'Retry', 'the button says Retry')
  t.equal(await textOf(page, '#redrive-all'), 'Retry all')
  await page.click('[data-redrive="default/poison"]')
  await until('the letter leaves the list', async () => (await letter.count()) === 0)
  t.match(await textOf(page, '#dead-message'), /1 stored/)
  t.match(await textOf(page, '#dead-message'), /^Retry: /)
  await until('the tile counts none', async () => (await numberOf(page, '#dead-count')) === 0)
  const { rows } = await pool.query<{ n: number }>(
    "SELECT count(*)::int AS n FROM events WHERE source = 'default' AND id = 'poison'",
  )
  t.equal(rows[0]?.n, 1, 'the redriven event is stored')

  t.same(
    requests.filter((url) => !url.startsWith(`${admin}/`)),
    [],
    'the page fetched nothing from anywhere but the admin listener',
  )
  t.same(pageErrors, [], 'no script errors on the page')
})

failOnLeaks(t)
