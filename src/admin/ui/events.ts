// Recent events (GET /v1/events): source and type filters, paging with nextCursor. Clicking a
// row opens the event (event-detail.ts). Only the first page refreshes by itself, so a page
// being read does not move under the reader.

const EVENTS_LIMIT = 25

const eventsView = {
  /** The cursors of the pages before the one shown; the last one is the shown page's own. */
  cursors: [null] as (string | null)[],
  next: null as string | null,
  selected: '',
}

function eventFilters(): { source: string; type: string } {
  return {
    source: byId<HTMLInputElement>('filter-source').value.trim(),
    type: byId<HTMLInputElement>('filter-type').value.trim(),
  }
}

async function refreshEvents(): Promise<void> {
  const cursor = eventsView.cursors.at(-1) ?? null
  let page: Page<EventSummary>
  try {
    const params = { ...eventFilters(), limit: String(EVENTS_LIMIT), cursor }
    page = await api<Page<EventSummary>>(query('/v1/events', params))
  } catch (err) {
    if (!(err instanceof Unauthorized)) setText('events-message', failure(err))
    return
  }
  setText('events-message', '')
  eventsView.next = page.nextCursor
  const rows = page.data.map(eventRow)
  if (rows.length === 0) {
    const none = eventsView.cursors.length > 1 ? 'No older events.' : 'No events match.'
    rows.push(el('tr', {}, el('td', { colspan: 5, class: 'empty' }, none)))
  }
  byId('event-rows').replaceChildren(...rows)
  byId<HTMLButtonElement>('events-newer').disabled = eventsView.cursors.length <= 1
  byId<HTMLButtonElement>('events-older').disabled = page.nextCursor === null
  setText('events-page', `page ${eventsView.cursors.length}`)
}

function eventRow(e: EventSummary): HTMLTableRowElement {
  const key = `${e.source}/${e.id}`
  const row = el(
    'tr',
    { class: key === eventsView.selected ? 'row selected' : 'row', 'data-event': key, tabindex: 0 },
    el('td', { title: fmtTime(e.receivedAt, true) }, fmtTime(e.receivedAt)),
    el('td', {}, e.source),
    el('td', {}, e.type ?? '—'),
    el('td', { class: 'mono clip', title: e.id }, e.id),
    el('td', { class: 'right' }, fmtBytes(e.bytes)),
  )
  const open = (): void => {
    eventsView.selected = key
    for (const r of document.querySelectorAll('#event-rows tr.selected'))
      r.classList.remove('selected')
    row.classList.add('selected')
    void openEvent(e.source, e.id)
  }
  row.addEventListener('click', open)
  row.addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter') open()
  })
  return row
}

function initEvents(): void {
  byId('events-filter').addEventListener('submit', (ev) => {
    ev.preventDefault()
    eventsView.cursors = [null]
    void refreshEvents()
  })
  byId('events-reset').addEventListener('click', () => {
    byId<HTMLInputElement>('filter-source').value = ''
    byId<HTMLInputElement>('filter-type').value = ''
    eventsView.cursors = [null]
    void refreshEvents()
  })
  byId('events-older').addEventListener('click', () => {
    if (eventsView.next === null) return
    eventsView.cursors.push(eventsView.next)
    void refreshEvents()
  })
  byId('events-newer').addEventListener('click', () => {
    if (eventsView.cursors.length > 1) eventsView.cursors.pop()
    void refreshEvents()
  })
}

/** The slower cadence: the first page only (see the file comment). */
function refreshEventsIfFirstPage(): Promise<void> {
  return eventsView.cursors.length === 1 ? refreshEvents() : Promise.resolve()
}
