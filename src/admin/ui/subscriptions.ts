// Subscriptions (GET /v1/subscriptions) with their delivery health and flow control, the failing
// ones first and highlighted, each with an enable/disable toggle (PATCH status). Clicking a row
// shows its deliveries (deliveries.ts). URLs, reasons and filters come from API callers or the
// engine: text only.

/** One page is enough for the sort to be whole; past it the table says so. */
const SUBS_LIMIT = 500
/** The reason PATCH writes (src/db/subscriptions.ts); any other is the engine's (410, failing). */
const OPERATOR_REASON = 'disabled through the admin API'

const subsView = {
  list: [] as ListedSubscription[],
}

const disabledBySystem = (s: ListedSubscription): boolean =>
  s.status === 'disabled' && s.disabledReason !== null && s.disabledReason !== OPERATOR_REASON

function isFailing(s: ListedSubscription): boolean {
  const d = s.delivery
  return d.flow.state === 'paused' || d.failingSince !== null || disabledBySystem(s)
}

/** Failing first, the longest failing at the top; the rest in the API's order (oldest first). */
function sortSubscriptions(list: ListedSubscription[]): ListedSubscription[] {
  const since = (s: ListedSubscription): number =>
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
  let page: Page<ListedSubscription>
  try {
    page = await api<Page<ListedSubscription>>(
      query('/v1/subscriptions', { limit: String(SUBS_LIMIT) }),
    )
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

/** Paused sends nothing but probes: the failing colour. Narrowed or held still delivers. */
const FLOW_TONE: Record<Exclude<FlowState, 'normal'>, Tone> = {
  narrowed: 'warn',
  held: 'warn',
  paused: 'bad',
}

function badge(tone: Tone | '', text: string): HTMLElement {
  return el('span', { class: `badge small ${tone}`, 'data-tone': tone }, text)
}

function statusCell(s: ListedSubscription): HTMLElement {
  const tone = s.status === 'active' ? 'ok' : disabledBySystem(s) ? 'bad' : ''
  return el(
    'td',
    {},
    badge(tone, s.status),
    s.disabledReason &&
      el('div', { class: 'muted small-text clamp', title: s.disabledReason }, s.disabledReason),
  )
}

/** Flow control now: the state, and what holds it back (docs/outbound.md "Flow control"). */
function flowCell(s: ListedSubscription): HTMLElement {
  const f = s.delivery.flow
  // Nothing is delivered to a disabled one: no flow to speak of (enabling it ends any pause).
  if (s.status === 'disabled') return el('td', { class: 'muted', 'data-flow': '' }, '—')
  const line = (text: string) => el('div', { class: 'muted small-text' }, text)
  let detail: HTMLElement[] = []
  if (f.state === 'paused') {
    detail = [line(f.nextProbeAt ? `next probe ${fmtTime(f.nextProbeAt)}` : 'next probe due')]
  } else if (f.state !== 'normal') {
    detail = [line(`limit ${fmtInt(f.inFlightLimit)} of ${fmtInt(s.maxInFlight)}`)]
    if (f.heldUntil) detail.push(line(`held until ${fmtTime(f.heldUntil)}`))
  }
  // Normal is plain text: only what holds deliveries back draws the eye.
  const state =
    f.state === 'normal'
      ? el('span', { class: 'muted', 'data-tone': '' }, 'normal')
      : badge(FLOW_TONE[f.state], f.state)
  return el('td', { 'data-flow': f.state }, state, ...detail)
}

/**
 * The window that pauses: attempts in a row that met congestion (every node's) since when; or,
 * failing with answers such as a 4xx that do not count toward a pause, since when it fails.
 */
function windowCell(s: ListedSubscription): HTMLElement {
  const n = s.delivery.flow.consecutiveFailures
  const since = s.delivery.flow.congestedSince ?? s.delivery.failingSince
  if (n === 0 && since === null) return el('td', { class: 'small-text' }, '—')
  return el(
    'td',
    { class: 'small-text', title: since ? `${ago(since)}, ${fmtTime(since, true)}` : '' },
    el('div', {}, n > 0 ? `${fmtInt(n)} ${n === 1 ? 'failure' : 'failures'} in a row` : 'failing'),
    since && el('div', { class: 'muted' }, `since ${fmtTime(since)}`),
  )
}

/** A filter or ordering key, compact, as text: one clipped line, the whole in its title. */
function subscriptionRules(s: ListedSubscription, clip: boolean): HTMLElement[] {
  const rules: [string, string][] = []
  if (s.ordering) rules.push(['ordered by', s.ordering.key])
  if (s.filter) rules.push(['filter', JSON.stringify(s.filter)])
  const cls = clip ? 'muted small-text clip' : 'small-text rule'
  return rules.map(([what, text]) =>
    el('div', { class: cls, title: text }, `${what} `, el('span', { class: 'mono' }, text)),
  )
}

function subscriptionRow(s: ListedSubscription): HTMLTableRowElement {
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
      ...subscriptionRules(s, true),
    ),
    statusCell(s),
    el('td', { class: 'right num' }, fmtInt(d.pending)),
    el('td', { class: d.failed ? 'right num error-text' : 'right num' }, fmtInt(d.failed)),
    el('td', { class: 'right num' }, fmtInt(d.inFlight)),
    flowCell(s),
    windowCell(s),
    when(d.lastSuccessAt, 'never'),
    el('td', { class: 'right' }, toggle),
  )
  if (failing) row.dataset.failing = 'true'
  return openable(row, () => showDeliveries(s))
}

async function toggleSubscription(button: HTMLButtonElement, s: ListedSubscription): Promise<void> {
  const status = s.status === 'active' ? 'disabled' : 'active'
  button.disabled = true
  try {
    await api<ListedSubscription>(
      `/v1/subscriptions/${encodeURIComponent(s.id)}`,
      { status },
      'PATCH',
    )
    setText('subs-message', `${s.url}: ${status}.`)
  } catch (err) {
    if (!(err instanceof Unauthorized)) setText('subs-message', `${s.url}: ${failure(err)}`)
  } finally {
    button.disabled = false
  }
  await refreshSubscriptions()
}
