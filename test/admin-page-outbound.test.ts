import t from 'tap'
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { startAdminEngine } from './helpers/admin-engine.js'
import { launchChromium, textOf } from './helpers/browser.js'
import { receiver } from './helpers/dispatch.js'
import { failOnLeaks } from './helpers/leaks.js'
import { post } from './helpers/post.js'
import { pauseWhenSettled } from './helpers/pg.js'
import { until } from './helpers/wait.js'

const TOKEN = 'operator-page-outbound-token-0123'
const ARTIFACTS = join(import.meta.dirname, 'artifacts')

interface Page<T> {
  data: T[]
}

/**
 * Outbound health on the operator page, in a real browser against a real engine: a receiver
 * answering 500 and a subscription paused the way flow control pauses (paused_at) turn the
 * header amber and show in the Deliveries tile; fixed, the header is green again. Times name
 * their zone, and a 420 px window does not scroll sideways.
 */
t.test('the operator page shows failing and paused subscriptions', async (t) => {
  let broken = true
  const healthy = await receiver()
  const quiet = await receiver()
  const flaky = await receiver((_r, res) => void res.writeHead(broken ? 500 : 200).end())
  t.teardown(() => Promise.all([healthy.close(), quiet.close(), flaky.close()]))
  const { call, webhook, admin, pool } = await startAdminEngine(t, {
    SLUICE_ADMIN_TOKEN: TOKEN,
    SLUICE_OUTBOUND_ALLOW: '127.0.0.0/8',
    // One attempt within the test: the failed delivery waits for its retry (or a Retry).
    SLUICE_DELIVERY_SCHEDULE: '600',
    SLUICE_DELIVERY_TIMEOUT_MS: '10000',
  })
  const subscribe = async (body: object) =>
    ((await call('POST', '/v1/subscriptions', { body })).json as { id: string }).id
  await subscribe({ url: healthy.url('/billing'), description: 'billing service' })
  const paused = await subscribe({ url: quiet.url('/crm'), description: 'CRM sync' })
  const failing = await subscribe({ url: flaky.url('/partner'), description: 'partner' })

  const browser = await launchChromium()
  t.teardown(() => browser.close())
  mkdirSync(ARTIFACTS, { recursive: true })
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } })
  page.setDefaultTimeout(30000)
  const pageErrors: string[] = []
  page.on('pageerror', (err) => pageErrors.push(err.message))
  const tone = (selector: string) => page.locator(selector).getAttribute('data-tone')
  await page.goto(`${admin}/`)
  await page.fill('#token', TOKEN)
  await page.click('#login-form button[type=submit]')
  await until('the first count is shown', async () => {
    return (await textOf(page, '#deliveries-pending')) === '0'
  })
  t.equal(await tone('#overall'), 'ok', 'green while every subscription delivers')
  t.equal(await tone('#deliveries-tile'), 'ok')
  t.equal(await textOf(page, '#deliveries-failing'), '0')

  for (const i of [1, 2]) {
    const res = await post(webhook, JSON.stringify({ type: 'order.paid', i }), {
      'idempotency-key': `po-${i}`,
    })
    t.equal(res.status, 200)
  }
  await until('delivered to the healthy ones', () => {
    return healthy.received.length === 2 && quiet.received.length === 2
  })
  await until('the 500 receiver was tried', () => flaky.received.length === 2)
  await pauseWhenSettled(pool, paused)

  await until('the header turns amber, naming both', async () => {
    return /Degraded: 1 subscription failing, 1 paused/.test(await textOf(page, '#overall'))
  })
  t.equal(await tone('#overall'), 'warn', 'amber, not red: events are still accepted')
  t.equal(await tone('#deliveries-tile'), 'warn')
  t.equal(await textOf(page, '#deliveries-failing'), '1', 'failing subscriptions')
  t.equal(await textOf(page, '#deliveries-paused'), '1', 'paused subscriptions')
  t.equal(await page.locator('#deliveries-tile .warn-text').count(), 2, 'both marked')
  t.equal(await textOf(page, '#deliveries-pending'), '2', "the failing one's two")
  t.match(await textOf(page, '#deliveries-oldest'), /^\d+(\.\d)? s$/, 'oldest, seconds old')
  await until('the delivered rate', async () => (await textOf(page, '#delivered-rate')) !== '0.0')
  t.match(
    await page.locator('#deliveries-tile').getAttribute('title'),
    /[\d.]+ failed attempts\/s; 0 disabled subscriptions/,
    'the rest in its title',
  )

  // Every time on the page names its zone.
  await until('the events are listed', async () => {
    return (await page.locator('#event-rows tr[data-event]').count()) === 2
  })
  t.match(await textOf(page, '#event-rows tr[data-event] td'), / UTC$/, 'an event time')
  t.match(await textOf(page, '#updated'), /^updated \d\d:\d\d:\d\d UTC$/, 'the last update')
  await page.click(`[data-sub="${failing}"]`)
  const deliveries = page.locator('#delivery-rows tr[data-delivery]')
  await until('its deliveries are listed', async () => (await deliveries.count()) === 2)
  const cells = await deliveries.first().locator('td').allTextContents()
  t.match(cells[0], / UTC$/, 'a delivery created at')
  t.match(cells[4], /next .* UTC$/, 'its next attempt')
  await page.evaluate(() => window.scrollTo(0, 0))
  await page.screenshot({ path: join(ARTIFACTS, 'admin-deliveries-tile.png') })

  // A 420 px window: the page does not scroll sideways; the wide tables scroll in their boxes.
  await page.setViewportSize({ width: 420, height: 900 })
  await until('laid out narrow', async () => {
    return (await page.evaluate(() => window.innerWidth)) === 420
  })
  const widths = await page.evaluate(() => ({
    document: document.documentElement.scrollWidth,
    body: document.body.scrollWidth,
    subs: [...document.querySelectorAll<HTMLElement>('#subscriptions-card .scroll')].map((box) => [
      box.scrollWidth,
      box.clientWidth,
    ]),
  }))
  t.ok(widths.document <= 420, `the page is ${widths.document} px wide`)
  t.ok(widths.body <= 420, `its body is ${widths.body} px wide`)
  const [subsBox] = widths.subs
  t.ok(subsBox && subsBox[0]! > subsBox[1]!, 'the subscriptions table scrolls in its own box')
  // The chart is redrawn for its new width with the next status (every 2 s).
  await until('the chart is redrawn narrow', async () => {
    const box = await page.locator('#chart').getAttribute('viewBox')
    return Number(box?.split(' ')[2]) <= 420
  })
  await page.evaluate(() => window.scrollTo(0, 0))
  await page.screenshot({ path: join(ARTIFACTS, 'admin-narrow.png') })
  await page.screenshot({ path: join(ARTIFACTS, 'admin-narrow-full.png'), fullPage: true })
  await page.setViewportSize({ width: 1280, height: 800 })

  // Fixed and resumed: green again.
  broken = false
  await pool.query('UPDATE subscriptions SET paused_at = NULL WHERE id = $1', [paused])
  const pending = (
    (await call('GET', `/v1/subscriptions/${failing}/deliveries?status=pending`)).json as Page<{
      id: string
    }>
  ).data
  for (const d of pending) t.equal((await call('POST', `/v1/deliveries/${d.id}/retry`)).status, 200)
  await until('the header is green again', async () => (await tone('#overall')) === 'ok')
  t.equal(await textOf(page, '#overall'), 'Healthy: accepting and storing')
  t.equal(await tone('#deliveries-tile'), 'ok')
  t.same(pageErrors, [], 'no script errors on the page')
})

failOnLeaks(t)
