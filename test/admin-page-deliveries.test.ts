import t from 'tap'
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { startAdminEngine } from './helpers/admin-engine.js'
import { launchChromium, numberOf, textOf } from './helpers/browser.js'
import { receiver } from './helpers/dispatch.js'
import { failOnLeaks } from './helpers/leaks.js'
import { post } from './helpers/post.js'
import { until } from './helpers/wait.js'

const TOKEN = 'operator-page-deliveries-token-0123'
const ARTIFACTS = join(import.meta.dirname, 'artifacts')
/** What the failing receiver answers: markup, which the page must show as text. */
const HOSTILE = '<b id="injected">down</b> for maintenance <img src=x onerror="alert(1)">'

interface Sub {
  status: string
}
interface Page<T> {
  data: T[]
  nextCursor: string | null
}

/**
 * The page's Subscriptions & deliveries view in a real browser against a real engine and two
 * receivers on loopback, one healthy and one answering 500: the failing subscriber first, its
 * failed delivery and attempts, Retry making one more attempt, a replay counted then made, and
 * the enable/disable toggle.
 */
t.test('the operator page shows subscribers and acts on their deliveries', async (t) => {
  const healthy = await receiver()
  const failing = await receiver((_r, res) => {
    res.statusCode = 500
    res.setHeader('content-type', 'text/html')
    res.end(HOSTILE)
  })
  const gone = await receiver((_r, res) => void res.writeHead(410).end())
  t.teardown(() => Promise.all([healthy.close(), failing.close(), gone.close()]))
  const { call, webhook, admin } = await startAdminEngine(t, {
    SLUICE_ADMIN_TOKEN: TOKEN,
    SLUICE_OUTBOUND_ALLOW: '127.0.0.0/8',
    // Three attempts, quickly; one failed delivery stays under the pause's 10 failures.
    SLUICE_DELIVERY_SCHEDULE: '0.2,0.2',
    SLUICE_DELIVERY_TIMEOUT_MS: '10000',
  })
  const subscribe = async (body: object) =>
    ((await call('POST', '/v1/subscriptions', { body })).json as { id: string }).id
  // The healthy one is created first: the page, not the API's order, puts the failing one on top.
  const ok = await subscribe({ url: healthy.url(), description: 'billing service' })
  const bad = await subscribe({
    url: failing.url('/partner'),
    eventTypes: ['order.refunded'],
    description: 'partner integration',
  })
  // 410 Gone: the engine disables it at once, and the page counts that as failing too.
  const retired = await subscribe({ url: gone.url('/old'), eventTypes: ['order.paid'] })
  for (const [i, type] of ['order.paid', 'order.paid', 'order.refunded'].entries()) {
    const res = await post(webhook, JSON.stringify({ type, n: i }), { 'idempotency-key': `p-${i}` })
    t.equal(res.status, 200)
  }
  await until('the healthy subscriber got all three', () => healthy.received.length === 3)
  await until('the 410 disabled one', async () => {
    return ((await call('GET', `/v1/subscriptions/${retired}`)).json as Sub).status === 'disabled'
  })
  await until('the failing delivery spent its schedule', async () => {
    const q = `/v1/subscriptions/${bad}/deliveries?status=failed`
    return ((await call('GET', q)).json as Page<unknown>).data.length === 1
  })

  const browser = await launchChromium()
  t.teardown(() => browser.close())
  mkdirSync(ARTIFACTS, { recursive: true })
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } })
  page.setDefaultTimeout(30000)
  const requests: string[] = []
  const pageErrors: string[] = []
  page.on('request', (r) => requests.push(r.url()))
  page.on('pageerror', (err) => pageErrors.push(err.message))
  page.on('dialog', (d) => void d.dismiss().then(() => pageErrors.push(`dialog: ${d.message()}`)))
  await page.goto(`${admin}/`)
  await page.fill('#token', TOKEN)
  await page.click('#login-form button[type=submit]')

  // The subscriptions, the failing one first and marked, each with its health.
  const rows = page.locator('#sub-rows tr[data-sub]')
  await until('the three subscriptions are listed', async () => (await rows.count()) === 3)
  const order = await rows.evaluateAll((trs) =>
    trs.map((tr) => [tr.getAttribute('data-sub'), tr.getAttribute('data-failing')]),
  )
  t.same(
    order,
    [
      [bad, 'true'],
      [retired, 'true'],
      [ok, null],
    ],
    'the failing subscribers first (the longest failing on top), marked; the healthy one last',
  )
  const retiredRow = page.locator(`[data-sub="${retired}"]`)
  t.match(await retiredRow.textContent(), /disabled\s*the receiver answered 410 Gone/)
  t.equal(await retiredRow.locator('.badge').first().getAttribute('data-tone'), 'bad')
  const badRow = page.locator(`[data-sub="${bad}"]`)
  const cells = async (row: typeof badRow) =>
    (await row.locator('td').allTextContents()).map((s) => s.trim())
  const [where, status, pending, failed, inFlight, flow, failures, success] = await cells(badRow)
  t.match(where, failing.url('/partner'), 'its url')
  t.match(where, /partner integration/, 'its description')
  t.same([status, pending, failed, inFlight], ['active', '0', '1', '0'])
  t.match(flow, /^narrowed\s*limit \d of 10$/, 'three 500s narrowed it; not paused')
  t.match(failures, /^3 failures in a row\s*since .* UTC$/, 'the window: three in a row since')
  t.equal((await cells(retiredRow))[5], '—', 'no flow state for a disabled one')
  t.equal(success, 'never', 'no success ever')
  t.match((await cells(page.locator(`[data-sub="${ok}"]`)))[7], /ago$/, 'the healthy one succeeded')
  t.match(await textOf(page, '#subs-summary'), /3 subscriptions · 2 failing/)

  // Its deliveries, filtered by status, and the failed one's attempts in the side panel.
  await badRow.click()
  const deliveries = page.locator('#delivery-rows tr[data-delivery]')
  await until('its delivery is listed', async () => (await deliveries.count()) === 1)
  t.equal(await deliveries.first().getAttribute('data-status'), 'failed')
  t.match(await deliveries.first().textContent(), /p-2.*failed\s*3\s*HTTP 500/s)
  await page.selectOption('#delivery-status', 'succeeded')
  await until('no succeeded one', async () =>
    /No deliveries/.test(await textOf(page, '#delivery-rows')),
  )
  await page.selectOption('#delivery-status', '')
  await until('listed again', async () => (await deliveries.count()) === 1)
  await deliveries.first().click()
  const attempts = page.locator('#delivery-attempts li[data-attempt]')
  await until('its three attempts are shown', async () => (await attempts.count()) === 3)
  t.match(await attempts.first().textContent(), /#3\s*HTTP 500/, 'newest first, with the status')
  t.equal(await textOf(page, '#delivery-attempts pre'), HOSTILE, 'the response, as text')
  t.equal(await page.locator('#injected, #delivery-drawer img').count(), 0, 'no markup parsed')
  t.match(await textOf(page, '#delivery-meta'), failing.url('/partner'))

  // Retry from the panel: one more attempt, shown as it happens.
  await page.click('#delivery-retry')
  await until('the retry is said', async () =>
    /Retry requested at/.test(await textOf(page, '#delivery-message')),
  )
  await until('a fourth attempt appears', async () => (await attempts.count()) === 4)
  t.match(await attempts.first().textContent(), /#4\s*HTTP 500/)
  t.equal(failing.received.length, 4, 'the receiver got it')
  await until('the panel shows it failed again', async () => {
    return (await page.locator('#delivery-meta').getAttribute('data-status')) === 'failed'
  })
  t.match(await textOf(page, '#delivery-meta'), /attempts\s*4/)
  await page.screenshot({ path: join(ARTIFACTS, 'admin-page-delivery.png') })
  await page.click('#delivery-close')
  t.notOk(await page.locator('#delivery-drawer').isVisible(), 'the panel closes')

  // The keyboard opens the healthy one's deliveries: all succeeded, none to retry.
  await page.locator(`[data-sub="${ok}"]`).focus()
  await page.keyboard.press('Enter')
  await until('its three deliveries', async () => (await deliveries.count()) === 3)
  t.equal(await textOf(page, '#deliveries-of'), healthy.url())
  t.equal(await page.locator('#delivery-rows [data-retry]').count(), 0, 'no Retry on a success')

  // Replay: a dry run counts, a change of filter takes the confirm back, the confirm replays.
  await page.click('#replay summary')
  await page.selectOption('#replay-subscription', ok)
  await page.fill('#replay-type', 'order.paid')
  await page.click('#replay-form button[type=submit]')
  const confirm = page.locator('#replay-confirm')
  await until('the dry run counts 2', async () =>
    /makes 2 deliveries/.test(await textOf(page, '#replay-message')),
  )
  t.equal(await confirm.textContent(), 'Replay 2')
  t.equal(healthy.received.length, 3, 'a dry run sends nothing')
  await page.fill('#replay-since', '2000-01-01T00:00')
  t.ok(await confirm.isDisabled(), 'a changed filter needs a new dry run')
  await page.fill('#replay-until', '2000-01-02T00:00')
  await page.click('#replay-form button[type=submit]')
  await until('a day long ago matches none', async () =>
    /makes 0 deliveries/.test(await textOf(page, '#replay-message')),
  )
  t.ok(await confirm.isDisabled(), 'nothing to confirm')
  await page.fill('#replay-until', '')
  await page.click('#replay-form button[type=submit]')
  await until('counted again', async () => !(await confirm.isDisabled()))
  await confirm.click()
  await until('the replay is said', async () =>
    /Replayed: 2/.test(await textOf(page, '#replay-message')),
  )
  await until('the replay reached the healthy subscriber', () => healthy.received.length === 5)
  await until('the replayed deliveries are listed', async () => (await deliveries.count()) === 5)
  t.equal(await page.locator('#delivery-rows tr', { hasText: 'replay 1' }).count(), 2)
  t.equal(failing.received.length, 4, 'the other subscription was not replayed to')
  await until('the list shows them delivered', async () => {
    return (await page.locator('#delivery-rows tr[data-status="succeeded"]').count()) === 5
  })
  // An empty form is "everything" on purpose: the API refuses a replay with no filter unless
  // the body says "all": true, and the page says so for the operator.
  await page.selectOption('#replay-subscription', '')
  await page.fill('#replay-type', '')
  await page.fill('#replay-since', '')
  await page.click('#replay-form button[type=submit]')
  await until('the unfiltered dry run counts', async () =>
    /makes \d+ deliveries \(no filter/.test(await textOf(page, '#replay-message')),
  )
  t.match(
    await textOf(page, '#replay-message'),
    /makes 4 deliveries \(no filter: every stored event\)\. Nothing was sent/,
    'three events to the catch-all subscription, the refund to the partner one',
  )
  t.equal(healthy.received.length, 5, 'the dry run sent nothing')
  // The event's panel counts its deliveries, the replay's among them.
  await page.click('[data-event="default/p-0"]')
  await until('the event panel is filled', async () =>
    /deliveries/.test(await textOf(page, '#detail-meta')),
  )
  t.match(
    await textOf(page, '#detail-meta'),
    /deliveries\s*2 succeeded, 1 failed \(1 by replay\)/,
    "the event's deliveries (the 410 subscriber's failed), the replay's among them",
  )
  await page.click('#detail-close')
  await page.evaluate(() => document.querySelector('#subscriptions-card')?.scrollIntoView())
  await page.screenshot({ path: join(ARTIFACTS, 'admin-page-deliveries.png') })

  // The toggle disables and enables through PATCH.
  const subStatus = async () => ((await call('GET', `/v1/subscriptions/${bad}`)).json as Sub).status
  await page.click(`[data-toggle="${bad}"]`)
  await until('disabled', async () => (await subStatus()) === 'disabled')
  await until('the row says so', async () =>
    /disabled through the admin API/.test(await textOf(page, `[data-sub="${bad}"]`)),
  )
  t.equal(await textOf(page, `[data-toggle="${bad}"]`), 'Enable')
  await page.click(`[data-toggle="${bad}"]`)
  await until('active again', async () => (await subStatus()) === 'active')
  await until(
    'the button follows',
    async () => (await textOf(page, `[data-toggle="${bad}"]`)) === 'Disable',
  )
  t.equal(await numberOf(page, `[data-sub="${bad}"] td:nth-child(4)`), 1, 'still one failed')

  t.same(
    requests.filter((url) => !url.startsWith(`${admin}/`)),
    [],
    'the page fetched nothing from anywhere but the admin listener',
  )
  t.same(pageErrors, [], 'no script errors or dialogs on the page')
})

failOnLeaks(t)
