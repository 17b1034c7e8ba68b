// Subscriptions (GET /v1/subscriptions) with their delivery health, the failing ones first and
// highlighted, each with an enable/disable toggle (PATCH status). Clicking a row shows its
// deliveries (deliveries.ts). URLs and reasons come from API callers or the engine: text only.

/** One page is enough for the sort to be whole; past it the table says so. */
const SUBS_LIMIT = 500
/** The reason PATCH writes (src/db/subscriptions.ts); any other is the engine's (410, failing). */
const OPERATOR_REASON = 'disabled through the admin API'

const subsView = {
  list: [] as Subscription[],
}

const disabledBySystem = (s: Subscription): boolean =>
  s.status === 'disabled' && s.disabledReason !== null && s.disabledReason !== OPERATOR_REASON

function isFailing(s: Subscription): boolean {
  const d = s.delivery
  return d.breaker !== 'closed' || d.failingSince !== null || disabledBySystem(s)
}

/** Failing first, the longest failing at the top; the rest in the API's order (oldest first). */
function sortSubscriptions(list: Subscription[]): Subscription[] {
  const since = (s: Subscription): number =>
    s.delivery.failingSince ? Date.parse(s.delivery.failingSince) : Infinity
  return list
    .map((s, i) => ({ s, i, failing: isFailing(s) }))
    .sort((a, b) => {
      if (a.failing !== b.failing) return a.failing ? -1 : 1
      if (a.failing) return since(a.s) - since(b.s) || a.i - b.i
      return a.i - b.i
    })
    .map((x) => x.s)
}

async function refreshSubscriptions(): Promise<void> {
  let page: Page<Subscription>
  try {
    page = await api<Page<Subscription>>(query('/v1/subscriptions', { limit: String(SUBS_LIMIT) }))
  } catch (err) {
    if (!(err instanceof Unauthorized)) setText('subs-message', failure(err))
    return
  }
  setText('subs-message', page.nextCursor ? `Showing the first ${SUBS_LIMIT} subscriptions.` : '')
  subsView.list = sortSubscriptions(page.data)
  const failing = subsView.list.filter(isFailing).length
  setText(
    'subs-summary',
    `${fmtInt(page.data.length)} subscriptions${failing ? ` · ${fmtInt(failing)} failing` : ''}`,
  )
  const rows = subsView.list.map(subscriptionRow)
  if (rows.length === 0) {
    const none = 'No subscriptions. POST /v1/subscriptions creates one (docs/outbound.md).'
    rows.push(el('tr', {}, el('td', { colspan: 9, class: 'empty' }, none)))
  }
  byId('sub-rows').replaceChildren(...rows)
  renderReplaySubscriptions(subsView.list)
  const shown = subsView.list.find((s) => s.id === deliveriesView.subscription)
  if (shown) setDeliveriesHeading(shown)
}

const BREAKER_TONE: Record<BreakerState, Tone> = { closed: 'ok', half_open: 'warn', open: 'bad' }

function badge(tone: Tone | '', text: string): HTMLElement {
  return el('span', { class: `badge small ${tone}`, 'data-tone': tone }, text)
}

function statusCell(s: Subscription): HTMLElement {
  const tone = s.status === 'active' ? 'ok' : disabledBySystem(s) ? 'bad' : ''
  return el(
    'td',
    {},
    badge(tone, s.status),
    s.disabledReason &&
      el('div', { class: 'muted small-text clamp', title: s.disabledReason }, s.disabledReason),
  )
}

function subscriptionRow(s: Subscription): HTMLTableRowElement {
  const d = s.delivery
  const failing = isFailing(s)
  const classes = [
    'row',
    failing ? 'failing' : '',
    s.id === deliveriesView.subscription ? 'selected' : '',
  ]
  const when = (iso: string | null, none: string): HTMLElement =>
    el('td', { class: 'small-text', title: iso ? fmtTime(iso, true) : '' }, iso ? ago(iso) : none)
  const toggle = el(
    'button',
    {
      class: 'small ghost',
      'data-toggle': s.id,
      'aria-label': `${s.status === 'active' ? 'Disable' : 'Enable'} ${s.url}`,
    },
    s.status === 'active' ? 'Disable' : 'Enable',
  )
  toggle.addEventListener('click', (ev) => {
    ev.stopPropagation()
    void toggleSubscription(toggle, s)
  })
  const row = el(
    'tr',
    { class: classes.filter(Boolean).join(' '), 'data-sub': s.id },
    el(
      'td',
      {},
      el('div', { class: 'mono clip', title: s.url }, s.url),
      s.description && el('div', { class: 'muted small-text clip' }, s.description),
    ),
    statusCell(s),
    el('td', { class: 'right num' }, fmtInt(d.pending)),
    el('td', { class: d.failed ? 'right num error-text' : 'right num' }, fmtInt(d.failed)),
    el('td', { class: 'right num' }, fmtInt(d.inFlight)),
    el('td', {}, badge(BREAKER_TONE[d.breaker], d.breaker.replace('_', '-'))),
    when(d.failingSince, '—'),
    when(d.lastSuccessAt, 'never'),
    el('td', { class: 'right' }, toggle),
  )
  if (failing) row.dataset.failing = 'true'
  return openable(row, () => showDeliveries(s))
}

async function toggleSubscription(button: HTMLButtonElement, s: Subscription): Promise<void> {
  const status = s.status === 'active' ? 'disabled' : 'active'
  button.disabled = true
  try {
    await api<Subscription>(`/v1/subscriptions/${encodeURIComponent(s.id)}`, { status }, 'PATCH')
    setText('subs-message', `${s.url}: ${status}.`)
  } catch (err) {
    if (!(err instanceof Unauthorized)) setText('subs-message', `${s.url}: ${failure(err)}`)
  } finally {
    button.disabled = false
  }
  await refreshSubscriptions()
}
