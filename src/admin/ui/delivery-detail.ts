// One delivery (GET /v1/deliveries/:id) in a side panel: where it goes, its state, and every
// attempt, newest first: time, duration, status code or error class and message, the start of
// the response and the node that made it, probes marked. An ordered delivery shows its key and
// the delivery it waits for, one click away. Response bodies and messages come from the
// subscriber's server, which may be hostile: they are set as text only. A pending delivery is
// read again on the status cadence, so an attempt made meanwhile appears by itself.

const deliveryView = {
  id: '',
  status: '' as DeliveryStatus | '',
  /** Bumped per read, so a slow answer for an earlier click does not overwrite a later one. */
  seq: 0,
}

function attemptOutcome(a: Attempt): HTMLElement {
  if (a.statusCode !== null) {
    const tone = a.statusCode >= 200 && a.statusCode < 300 ? 'ok' : 'bad'
    return badge(tone, `HTTP ${a.statusCode}`)
  }
  return badge('bad', a.error ?? 'error')
}

/**
 * A probe of a paused subscription that failed spent no attempt: its number is the one the next
 * real attempt will have, so it is named a probe instead. One that succeeded counted.
 */
function probeNote(a: Attempt): HTMLElement | null {
  if (!a.probe) return null
  const ok = a.statusCode !== null && a.statusCode >= 200 && a.statusCode < 300
  const text = ok ? 'probe: succeeded, the subscription resumes' : 'probe: no attempt spent'
  return el('div', { class: 'muted small-text probe-note' }, text)
}

function attemptItem(a: Attempt): HTMLElement {
  const spent = !a.probe || (a.statusCode !== null && a.statusCode >= 200 && a.statusCode < 300)
  const head = el(
    'div',
    { class: 'attempt-head' },
    el('strong', {}, spent ? `#${a.attempt}` : 'probe'),
    attemptOutcome(a),
    // A failed status has its error class too (the badge shows the error class otherwise).
    a.statusCode !== null && a.error && el('span', { class: 'mono muted' }, a.error),
    el('span', { title: fmtTime(a.attemptedAt, true) }, fmtTime(a.attemptedAt)),
    el('span', { class: 'muted' }, fmtDuration(a.durationMs)),
    el('span', { class: 'spacer' }),
    el('span', { class: 'muted small-text', title: 'node' }, a.node),
  )
  const excerpt = a.responseExcerpt
  return el(
    'li',
    {
      class: a.probe ? 'attempt probe' : 'attempt',
      'data-attempt': a.attempt,
      'data-probe': a.probe,
    },
    head,
    probeNote(a),
    a.message && el('div', { class: 'error-text small-text' }, a.message),
    excerpt !== null &&
      el(
        'div',
        { class: 'muted small-text' },
        a.responseTruncated ? 'response, truncated at the stored limit' : 'response',
      ),
    excerpt !== null && el('pre', { class: 'excerpt' }, excerpt === '' ? '(empty body)' : excerpt),
  )
}

/** "waiting for 12": opens that delivery in the panel (and marks it in the list, if there). */
function waitingLink(id: string): HTMLButtonElement {
  const link = el(
    'button',
    { class: 'link', 'data-waiting-for': id, title: 'the delivery of the same key before it' },
    `waiting for ${id}`,
  )
  link.addEventListener('click', (ev) => {
    ev.stopPropagation()
    for (const r of byId('delivery-rows').querySelectorAll<HTMLElement>('tr[data-delivery]'))
      r.classList.toggle('selected', r.dataset.delivery === id)
    void openDelivery(id)
  })
  return link
}

async function openDelivery(id: string): Promise<void> {
  if (!byId('drawer').hidden) closeEvent() // one side panel at a time
  byId('delivery-drawer').hidden = false
  if (deliveryView.id !== id) {
    deliveryView.id = id
    deliveryView.status = ''
    setText('delivery-title', `Delivery ${id}`)
    for (const part of ['delivery-meta', 'delivery-attempts']) byId(part).replaceChildren()
    setText('delivery-message', 'Loading…')
  }
  await refreshOpenDelivery()
}

async function refreshOpenDelivery(): Promise<void> {
  const id = deliveryView.id
  if (!id || byId('delivery-drawer').hidden) return
  const seq = ++deliveryView.seq
  let d: DeliveryDetail
  try {
    d = await api<DeliveryDetail>(`/v1/deliveries/${encodeURIComponent(id)}`)
  } catch (err) {
    if (seq === deliveryView.seq && !(err instanceof Unauthorized))
      setText('delivery-message', failure(err))
    return
  }
  if (seq !== deliveryView.seq || id !== deliveryView.id) return
  if (byId('delivery-message').textContent === 'Loading…') setText('delivery-message', '')
  // Its attempt is in: the list and the health counts behind the panel are stale now.
  if (deliveryView.status === 'pending' && d.status !== 'pending') {
    void refreshDeliveriesIfFirstPage()
    void refreshSubscriptions()
  }
  deliveryView.status = d.status
  byId<HTMLButtonElement>('delivery-retry').hidden = !retryable(d)
  byId('delivery-meta').replaceChildren(
    ...meta('to', d.url),
    ...meta('event', `${d.source} / ${d.eventId}`),
    ...meta('status', d.status),
    ...meta('attempts', String(d.attempts)),
    ...meta('created', `${fmtTime(d.createdAt)} (${ago(d.createdAt)})`),
    ...(d.orderingKey !== null ? meta('ordering key', d.orderingKey) : []),
    ...(d.inFlight
      ? meta('next attempt', 'under way now')
      : d.waitingFor
        ? meta('next attempt', waitingLink(d.waitingFor))
        : d.status !== 'pending'
          ? []
          : pausedFor(d)
            ? meta('next attempt', 'when a probe succeeds (the subscription is paused)')
            : d.nextAttemptAt
              ? meta('next attempt', fmtTime(d.nextAttemptAt))
              : []),
    ...(d.completedAt ? meta('completed', fmtTime(d.completedAt)) : []),
    ...(d.generation > 0 ? meta('replay', `generation ${d.generation}`) : []),
  )
  byId('delivery-meta').dataset.status = d.status
  // The API's order (oldest first) reversed: a failed probe and the attempt after it share a number.
  const items = [...d.attemptLog].reverse().map(attemptItem)
  if (items.length === 0) items.push(el('li', { class: 'muted' }, 'No attempt yet.'))
  byId('delivery-attempts').replaceChildren(...items)
}

/** The status cadence: only a pending delivery can change by itself. */
function refreshOpenDeliveryIfPending(): Promise<void> {
  return deliveryView.status === 'pending' ? refreshOpenDelivery() : Promise.resolve()
}

function closeDelivery(): void {
  byId('delivery-drawer').hidden = true
  deliveryView.id = ''
  deliveryView.status = ''
  clearSelected('delivery-rows')
}

function initDeliveryDetail(): void {
  byId('delivery-close').addEventListener('click', closeDelivery)
  const retry = byId<HTMLButtonElement>('delivery-retry')
  retry.addEventListener(
    'click',
    () => void retryDelivery(retry, deliveryView.id, 'delivery-message'),
  )
  document.addEventListener('keydown', (ev) => {
    if (ev.key === 'Escape' && !byId('delivery-drawer').hidden) closeDelivery()
  })
}
