import t from 'tap'
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import type { Page as BrowserPage } from 'playwright-core'
import { startAdminEngine } from './helpers/admin-engine.js'
import { launchChromium, textOf } from './helpers/browser.js'
import { receiver } from './helpers/dispatch.js'
import { failOnLeaks } from './helpers/leaks.js'
import { post } from './helpers/post.js'
import { until } from './helpers/wait.js'

const TOKEN = 'operator-page-flow-token-0123456'
const ARTIFACTS = join(import.meta.dirname, 'artifacts')
/** Markup in a filter an API caller wrote: the page must show it as text. */
const MARKUP = '<img id="injected" src=x onerror="alert(1)">'
const FILTER = { amount: { $gte: 100 }, 'meta.tag': { $ne: MARKUP } }
/** A time as the page writes it: UTC, the zone named, the date unless it is today. */
const UTC = /(\d{4}-\d\d-\d\d )?\d\d:\d\d:\d\d(\.\d{3})? UTC/

interface Delivery {
  id: string
  attempts: number
  waitingFor: string | null
  attemptLog?: { probe: boolean }[]
}
interface Sub {
  delivery: { flow: { state: string; nextProbeAt: string | null } }
}

/**
 * Flow control, ordering and filters on the operator page, in Chromium against a real engine:
 * a subscription paused the way flow control pauses it (paused_at, written here: the pause's
 * 10 failures over 30 s are not reachable from an engine in a test) and then really probed by
 * the dispatcher, an ordered subscription narrowed by a receiver answering 503 whose second
 * delivery waits for its first, and a filtered one. The flow states, the failure window, the
 * filter and ordering key (as text), the wait (a link to the delivery waited for) and the probe
 * in the attempt log are on the page, which still fits a 420 px window.
 */
t.test('the operator page shows flow control, ordering and filters', async (t) => {
  const dead = await receiver((_r, res) => void res.writeHead(503).end('down'))
  const ledger = await receiver((_r, res) => void res.writeHead(503).end('busy'))
  const billing = await receiver()
  t.teardown(() => Promise.all([dead.close(), ledger.close(), billing.close()]))
  const { call, webhook, admin, pool } = await startAdminEngine(t, {
    SLUICE_ADMIN_TOKEN: TOKEN,
    SLUICE_OUTBOUND_ALLOW: '127.0.0.0/8',
    // One attempt within the test: a failed delivery waits 10 min for its retry.
    SLUICE_DELIVERY_SCHEDULE: '600',
    SLUICE_DELIVERY_TIMEOUT_MS: '10000',
  })
  const subscribe = async (body: object) =>
    ((await call('POST', '/v1/subscriptions', { body })).json as { id: string }).id
  const deliveriesOf = async (sub: string) =>
    ((await call('GET', `/v1/subscriptions/${sub}/deliveries`)).json as { data: Delivery[] }).data
  const paused = await subscribe({
    url: dead.url('/crm'),
    eventTypes: ['crm.sync'],
    description: 'CRM sync',
  })
  const ordered = await subscribe({
    url: ledger.url('/ledger'),
    eventTypes: ['ledger.entry'],
    ordering: { key: '/account' },
    maxInFlight: 4,
    description: 'ledger, per account',
  })
  const filtered = await subscribe({
    url: billing.url('/big'),
    eventTypes: ['order.paid'],
    filter: FILTER,
    description: 'large orders',
  })
  const send = async (key: string, body: object) => {
    const res = await post(webhook, JSON.stringify(body), { 'idempotency-key': key })
    t.equal(res.status, 200)
  }
  await send('crm-1', { type: 'crm.sync', contact: 7 })
  await send('small', { type: 'order.paid', amount: 50 })
  await send('large', { type: 'order.paid', amount: 150 })
  await send('ledger-1', { type: 'ledger.entry', account: 'acct-1', n: 1 })
  await send('ledger-2', { type: 'ledger.entry', account: 'acct-1', n: 2 })

  // The ordered subscription: the first entry tried (503), the second waiting for it.
  let first = ''
  let second = ''
  await until('the second ledger entry waits for the first', async () => {
    const list = await deliveriesOf(ordered)
    ;[second, first] = [list[0]?.id ?? '', list[1]?.id ?? '']
    return list.length === 2 && list[0]!.waitingFor === first && list[1]!.attempts === 1
  })
  await until('the large order is delivered', () => billing.received.length === 1)

  // Paused as flow control pauses (Postgres's paused_at); the dispatcher takes it from there:
  // it wins the probe slot (next_probe_at), and the delivery made due now goes as the probe.
  await until('the CRM delivery failed once', () => dead.received.length === 1)
  await pool.query('UPDATE subscriptions SET paused_at = now() WHERE id = $1', [paused])
  await until('the dispatcher took the probe slot', async () => {
    const sub = (await call('GET', `/v1/subscriptions/${paused}`)).json as Sub
    return sub.delivery.flow.nextProbeAt !== null
  })
  const [crm] = await deliveriesOf(paused)
  t.equal((await call('POST', `/v1/deliveries/${crm!.id}/retry`)).status, 200)
  await until('the probe is logged', async () => {
    const d = (await call('GET', `/v1/deliveries/${crm!.id}`)).json as Delivery
    return d.attemptLog?.some((a) => a.probe) === true
  })
  t.equal(dead.received.length, 2, 'the probe reached the receiver')

  const browser = await launchChromium()
  t.teardown(() => browser.close())
  mkdirSync(ARTIFACTS, { recursive: true })
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } })
  page.setDefaultTimeout(30000)
  const pageErrors: string[] = []
  page.on('pageerror', (err) => pageErrors.push(err.message))
  page.on('dialog', (d) => void d.dismiss().then(() => pageErrors.push(`dialog: ${d.message()}`)))
  await page.goto(`${admin}/`)
  await page.fill('#token', TOKEN)
  await page.click('#login-form button[type=submit]')
  await until('the subscriptions are listed', async () => {
    return (await page.locator('#sub-rows tr[data-sub]').count()) === 3
  })

  // Flow control per subscription: the state as a badge, what holds it back below.
  const flow = (sub: string) => page.locator(`[data-sub="${sub}"] td[data-flow]`)
  const flowTone = (sub: string) => flow(sub).locator('[data-tone]').getAttribute('data-tone')
  t.match(await flow(paused).innerText(), new RegExp(`^paused\\s+next probe ${UTC.source}$`))
  t.equal(await flowTone(paused), 'bad', 'paused: the failing colour')
  t.match(await flow(ordered).innerText(), /^narrowed\s+limit 2 of 4$/, 'halved by the 503')
  t.equal(await flowTone(ordered), 'warn', 'narrowed: amber')
  t.equal((await flow(filtered).innerText()).trim(), 'normal')
  t.equal(await flowTone(filtered), '', 'normal: plain')
  t.equal(await flow(filtered).locator('.badge').count(), 0, 'normal: no badge')
  t.match(await textOf(page, 'table.subs thead'), /flow control\s*failing/, 'no breaker column')
  // The failure window: failed attempts in a row since when.
  const failures = (sub: string) => flow(sub).locator('xpath=following-sibling::td[1]').innerText()
  t.match(await failures(ordered), new RegExp(`^1 failure in a row\\s+since ${UTC.source}$`))
  t.match(await failures(paused), /^\d+ failures in a row\s+since /, 'the probe failed too')
  t.equal((await failures(filtered)).trim(), '—')

  // The filter and the ordering key, compact, as text.
  const json = JSON.stringify(FILTER)
  t.match(await textOf(page, `[data-sub="${filtered}"] td`), `filter ${json}`)
  t.match(await textOf(page, `[data-sub="${ordered}"] td`), 'ordered by /account')
  t.equal(await page.locator('#injected').count(), 0, 'no markup parsed')

  // The ordered subscription's deliveries: the key, and the wait as a link to the first.
  await page.click(`[data-sub="${ordered}"]`)
  const rows = page.locator('#delivery-rows tr[data-delivery]')
  await until('its deliveries are listed', async () => (await rows.count()) === 2)
  t.equal(await textOf(page, '#deliveries-rules'), 'ordered by /account')
  const waiting = page.locator(`[data-delivery="${second}"]`)
  t.match(await waiting.innerText(), /key "acct-1"/, 'the key, as its JSON text')
  t.equal(
    await textOf(page, `[data-delivery="${second}"] [data-waiting-for]`),
    `waiting for ${first}`,
  )
  t.notMatch(await waiting.innerText(), /next /, 'no due time: it goes after the first')
  t.notMatch(
    await page.locator(`[data-delivery="${first}"]`).innerText(),
    /waiting for/,
    'the first waits for nothing',
  )
  await page.evaluate(() => document.querySelector('#subscriptions-card')?.scrollIntoView())
  await page.screenshot({ path: join(ARTIFACTS, 'admin-flow.png') })
  await page.click(`[data-delivery="${second}"] [data-waiting-for]`)
  await until('the first opens in the panel', async () => {
    return (await textOf(page, '#delivery-title')) === `Delivery ${first}`
  })
  await until('its attempt is shown', async () => {
    return (await page.locator('#delivery-attempts li[data-attempt]').count()) === 1
  })
  t.match(await textOf(page, '#delivery-meta'), /ordering key\s*"acct-1"/)
  t.equal(await page.locator(`[data-delivery="${first}"].selected`).count(), 1, 'marked')
  await waiting.click()
  await until('the second opens', async () => {
    return /waiting for/.test(await textOf(page, '#delivery-meta'))
  })
  t.match(await textOf(page, '#delivery-meta'), new RegExp(`next attempt\\s*waiting for ${first}`))
  t.match(await textOf(page, '#delivery-attempts'), 'No attempt yet.')

  // The filtered subscription shows its filter in full, as text.
  await page.click('#delivery-close')
  await page.click(`[data-sub="${filtered}"]`)
  await until('its delivery is listed', async () => (await rows.count()) === 1)
  t.equal(await textOf(page, '#deliveries-rules'), `filter ${json}`, 'in full, markup as text')
  t.equal(await page.locator('#injected').count(), 0, 'no markup parsed')

  // The paused subscription's delivery: the probe, marked as spending no attempt.
  await page.click(`[data-sub="${paused}"]`)
  await until('its delivery is listed', async () => {
    return (await page.locator(`[data-delivery="${crm!.id}"]`).count()) === 1
  })
  t.match(
    await textOf(page, `[data-delivery="${crm!.id}"]`),
    /paused: probes only/,
    'no due time while paused',
  )
  await page.click(`[data-delivery="${crm!.id}"]`)
  const probe = page.locator('#delivery-attempts li[data-probe]')
  await until('the probe is shown', async () => (await probe.count()) >= 1)
  t.match(await probe.first().innerText(), /^probe\s+HTTP 503/, 'named a probe, not #2')
  t.match(await probe.first().innerText(), /probe: no attempt spent/)
  const counted = page.locator('#delivery-attempts li[data-attempt]:not([data-probe])')
  t.match(await counted.last().innerText(), /^#1\s+HTTP 503/, 'the attempt that counted')
  t.match(await textOf(page, '#delivery-meta'), /attempts\s*1/, 'one attempt spent')
  t.match(await textOf(page, '#delivery-meta'), /next attempt\s*when a probe succeeds/)
  await page.screenshot({ path: join(ARTIFACTS, 'admin-flow-probe.png') })

  // A 420 px window: the filter wraps, the page does not scroll sideways.
  await page.click('#delivery-close')
  await page.click(`[data-sub="${filtered}"]`)
  await until('the filter is shown', async () =>
    /filter/.test(await textOf(page, '#deliveries-rules')),
  )
  await page.setViewportSize({ width: 420, height: 900 })
  await until('laid out narrow', async () => (await page.evaluate(() => window.innerWidth)) === 420)
  t.ok((await scrollWidth(page)) <= 420, 'no sideways scroll')
  // The table scrolls in its box: the screenshot shows it scrolled to the flow column.
  await page.evaluate(() => {
    document.querySelector('#subscriptions-card')?.scrollIntoView()
    const box = document.querySelector<HTMLElement>('#subscriptions-card .scroll')
    const cell = document.querySelector<HTMLElement>('#sub-rows td[data-flow]')
    if (box && cell) box.scrollLeft = cell.offsetLeft - 40
  })
  await page.screenshot({ path: join(ARTIFACTS, 'admin-flow-narrow.png') })

  t.equal(ledger.received.length, 1, 'the second entry was never sent before the first')
  t.same(pageErrors, [], 'no script errors or dialogs on the page')
})

function scrollWidth(page: BrowserPage): Promise<number> {
  return page.evaluate(() =>
    Math.max(document.documentElement.scrollWidth, document.body.scrollWidth),
  )
}

failOnLeaks(t)
