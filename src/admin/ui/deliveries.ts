// The deliveries of the subscription picked in the table (GET /v1/subscriptions/:id/deliveries),
// filtered by status and paged with nextCursor, a Retry button on the failed and pending ones.
// Clicking a row opens its attempts (delivery-detail.ts). Like the events, only the first page
// refreshes by itself.

const DELIVERIES_LIMIT = 25

const deliveriesView = {
  subscription: '',
  /** The cursors of the pages before the one shown; the last one is the shown page's own. */
  cursors: [null] as (string | null)[],
  next: null as string | null,
}

const DELIVERY_TONE: Record<DeliveryStatus, Tone | ''> = {
  succeeded: 'ok',
  pending: 'warn',
  failed: 'bad',
  cancelled: '',
}

const retryable = (d: Delivery): boolean => d.status === 'failed' || d.status === 'pending'

/**
 * Its subscription is paused (as last listed): only a probe goes, whatever its due time says.
 * Likewise a delivery waiting for its key's predecessor goes after it (`waitingFor`).
 */
const pausedFor = (d: Delivery): boolean =>
  subsView.list.find((s) => s.id === d.subscriptionId)?.delivery.flow.state === 'paused'

/** What the last attempt said: its status code, else its error class. */
function lastResult(d: Delivery): string {
  if (d.attempts === 0) return 'not attempted yet'
  if (d.lastStatus !== null) return `HTTP ${d.lastStatus}`
  return d.lastError ?? '—'
}

/** The subscription's URL, and its ordering key and filter in full. */
function setDeliveriesHeading(s: ListedSubscription): void {
  setText('deliveries-of', s.url)
  byId('deliveries-of').title = s.url
  byId('deliveries-rules').replaceChildren(...subscriptionRules(s, false))
}

function showDeliveries(s: ListedSubscription): void {
  deliveriesView.subscription = s.id
  deliveriesView.cursors = [null]
  setDeliveriesHeading(s)
  byId('deliveries-card').hidden = false
  byId('delivery-rows').replaceChildren()
  void refreshDeliveries()
}

async function refreshDeliveries(): Promise<void> {
  const sub = deliveriesView.subscription
  if (!sub) return
  const cursor = deliveriesView.cursors.at(-1) ?? null
  const status = byId<HTMLSelectElement>('delivery-status').value
  let page: Page<Delivery>
  try {
    const params = { status, limit: String(DELIVERIES_LIMIT), cursor }
    page = await api<Page<Delivery>>(
      query(`/v1/subscriptions/${encodeURIComponent(sub)}/deliveries`, params),
    )
  } catch (err) {
    if (!(err instanceof Unauthorized)) setText('deliveries-message', failure(err))
    return
  }
  if (sub !== deliveriesView.subscription) return // another subscription was picked meanwhile
  setText('deliveries-message', '')
  deliveriesView.next = page.nextCursor
  const rows = page.data.map(deliveryRow)
  if (rows.length === 0) {
    const none = deliveriesView.cursors.length > 1 ? 'No older deliveries.' : 'No deliveries.'
    rows.push(el('tr', {}, el('td', { colspan: 6, class: 'empty' }, none)))
  }
  byId('delivery-rows').replaceChildren(...rows)
  byId<HTMLButtonElement>('deliveries-newer').disabled = deliveriesView.cursors.length <= 1
  byId<HTMLButtonElement>('deliveries-older').disabled = page.nextCursor === null
  setText('deliveries-page', `page ${deliveriesView.cursors.length}`)
}

function deliveryRow(d: Delivery): HTMLTableRowElement {
  const next = d.inFlight
    ? 'attempt under way'
    : d.waitingFor
      ? waitingLink(d.waitingFor)
      : d.status !== 'pending'
        ? ''
        : pausedFor(d)
          ? 'paused: probes only'
          : d.nextAttemptAt && `next ${fmtTime(d.nextAttemptAt)}`
  const origin = [d.source]
  if (d.generation > 0) origin.push(`replay ${d.generation}`)
  if (d.orderingKey !== null) origin.push(`key ${d.orderingKey}`)
  const retry =
    retryable(d) &&
    el(
      'button',
      { class: 'small', 'data-retry': d.id, 'aria-label': `Retry delivery ${d.id}` },
      'Retry',
    )
  if (retry) {
    retry.addEventListener('click', (ev) => {
      ev.stopPropagation()
      void retryDelivery(retry, d.id, 'deliveries-message')
    })
  }
  const row = el(
    'tr',
    {
      class: d.id === deliveryView.id ? 'row selected' : 'row',
      'data-delivery': d.id,
      'data-status': d.status,
    },
    el('td', { class: 'small-text', title: fmtTime(d.createdAt, true) }, fmtTime(d.createdAt)),
    el(
      'td',
      {},
      el('div', { class: 'mono clip', title: d.eventId }, d.eventId),
      el('div', { class: 'muted small-text clip', title: origin.join(' · ') }, origin.join(' · ')),
    ),
    el('td', {}, badge(DELIVERY_TONE[d.status], d.status)),
    el('td', { class: 'right num' }, fmtInt(d.attempts)),
    el(
      'td',
      { class: 'small-text' },
      el('div', { class: d.status === 'failed' ? 'error-text clip' : 'clip' }, lastResult(d)),
      next && el('div', { class: 'muted' }, next),
    ),
    el('td', { class: 'right' }, retry),
  )
  return openable(row, () => void openDelivery(d.id))
}

/** POST /v1/deliveries/:id/retry, said in `messageId`; then the lists and the panel re-read. */
async function retryDelivery(button: HTMLButtonElement, id: string, messageId: string) {
  button.disabled = true
  try {
    await api<Delivery>(`/v1/deliveries/${encodeURIComponent(id)}/retry`, {})
    // Still true once the attempt is made, so it can stay on screen.
    setText(messageId, `Retry requested at ${fmtTime(new Date().toISOString())}: due at once.`)
  } catch (err) {
    if (!(err instanceof Unauthorized)) setText(messageId, `Retry failed: ${failure(err)}`)
  } finally {
    button.disabled = false
  }
  await Promise.all([refreshDeliveries(), refreshSubscriptions(), refreshOpenDelivery()])
}

function initDeliveries(): void {
  byId('delivery-status').addEventListener('change', () => {
    deliveriesView.cursors = [null]
    void refreshDeliveries()
  })
  byId('deliveries-older').addEventListener('click', () => {
    if (deliveriesView.next === null) return
    deliveriesView.cursors.push(deliveriesView.next)
    void refreshDeliveries()
  })
  byId('deliveries-newer').addEventListener('click', () => {
    if (deliveriesView.cursors.length > 1) deliveriesView.cursors.pop()
    void refreshDeliveries()
  })
  byId('deliveries-close').addEventListener('click', () => {
    deliveriesView.subscription = ''
    byId('deliveries-card').hidden = true
    clearSelected('sub-rows')
  })
}

function refreshDeliveriesIfFirstPage(): Promise<void> {
  return deliveriesView.cursors.length === 1 ? refreshDeliveries() : Promise.resolve()
}
