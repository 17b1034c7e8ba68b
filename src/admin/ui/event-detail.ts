// One event (GET /v1/events/:source/:id) in a side panel: its metadata, headers and body. The
// body arrives as base64 of the exact bytes; it is shown as text when it is valid UTF-8,
// pretty-printed when it is JSON, else as a hex dump of its start.

const HEX_BYTES = 512
/** Bumped per opened event, so a slow answer for an earlier click does not overwrite a later. */
let detailSeq = 0

function decodeBody(base64: string): { kind: string; text: string } {
  const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0))
  if (bytes.length === 0) return { kind: 'empty', text: '' }
  let text: string
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes)
  } catch {
    return {
      kind: `binary, first ${Math.min(HEX_BYTES, bytes.length)} bytes`,
      text: hexDump(bytes),
    }
  }
  try {
    return { kind: 'JSON', text: JSON.stringify(JSON.parse(text), null, 2) }
  } catch {
    return { kind: 'text', text }
  }
}

function hexDump(bytes: Uint8Array): string {
  const lines: string[] = []
  for (let at = 0; at < Math.min(bytes.length, HEX_BYTES); at += 16) {
    const row = [...bytes.subarray(at, at + 16)]
    const hex = row.map((b) => b.toString(16).padStart(2, '0')).join(' ')
    const ascii = row.map((b) => (b >= 32 && b < 127 ? String.fromCharCode(b) : '.')).join('')
    lines.push(`${at.toString(16).padStart(6, '0')}  ${hex.padEnd(47)}  ${ascii}`)
  }
  return lines.join('\n')
}

/** "2 succeeded, 1 pending" over every delivery made of the event, replays included. */
function deliveriesSummary(deliveries: Delivery[]): string {
  if (deliveries.length === 0) return 'none'
  const statuses: DeliveryStatus[] = ['succeeded', 'pending', 'failed', 'cancelled']
  const counts = statuses
    .map((status) => [status, deliveries.filter((d) => d.status === status).length] as const)
    .filter(([, n]) => n > 0)
    .map(([status, n]) => `${n} ${status}`)
    .join(', ')
  const replays = deliveries.filter((d) => d.generation > 0).length
  return replays ? `${counts} (${replays} by replay)` : counts
}

function meta(label: string, value: string | Node): HTMLElement[] {
  return [el('dt', {}, label), el('dd', {}, value)]
}

async function openEvent(source: string, id: string): Promise<void> {
  const seq = ++detailSeq
  if (!byId('delivery-drawer').hidden) closeDelivery() // one side panel at a time
  byId('drawer').hidden = false
  setText('detail-title', `${source} / ${id}`)
  setText('detail-message', 'Loading…')
  for (const id of ['detail-meta', 'detail-headers', 'detail-body', 'detail-body-kind'])
    byId(id).replaceChildren()
  let e: EventDetail
  try {
    e = await api<EventDetail>(`/v1/events/${encodeURIComponent(source)}/${encodeURIComponent(id)}`)
  } catch (err) {
    if (seq === detailSeq && !(err instanceof Unauthorized)) setText('detail-message', failure(err))
    return
  }
  if (seq !== detailSeq) return
  setText('detail-message', '')
  byId('detail-meta').replaceChildren(
    ...meta('type', e.type ?? '—'),
    ...meta('received', `${fmtTime(e.receivedAt)} (${ago(e.receivedAt)})`),
    ...meta('stored', e.processedAt ? fmtTime(e.processedAt) : 'not yet'),
    ...meta('verified by', e.verifiedBy ?? 'not verified'),
    ...meta('content type', e.contentType ?? 'none'),
    ...meta('deliveries', deliveriesSummary(e.deliveries)),
  )
  const names = Object.keys(e.headers).sort()
  byId('detail-headers').replaceChildren(
    ...names.map((n) =>
      el('tr', {}, el('th', {}, n), el('td', { class: 'mono' }, e.headers[n] ?? '')),
    ),
  )
  const body = decodeBody(e.body)
  setText('detail-body-kind', `${body.kind} · ${fmtBytes(e.bytes)}`)
  setText('detail-body', body.text)
}

function closeEvent(): void {
  byId('drawer').hidden = true
  eventsView.selected = ''
  for (const r of document.querySelectorAll('#event-rows tr.selected'))
    r.classList.remove('selected')
}

function initEventDetail(): void {
  byId('detail-close').addEventListener('click', closeEvent)
  document.addEventListener('keydown', (ev) => {
    if (ev.key === 'Escape' && !byId('drawer').hidden) closeEvent()
  })
}
