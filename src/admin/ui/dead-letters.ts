// Dead letters (GET /v1/dead-letters) with a Retry button per letter and one for all
// (POST /v1/dead-letters/retry; "redrive" was its first name). A letter retried and stored
// leaves the table; one that fails again stays with one more attempt, so the list is read
// again after every retry. The buttons keep their data-redrive attribute for scripts and tests.

const DEAD_LIMIT = 50

async function refreshDeadLetters(): Promise<void> {
  let page: DeadLetterPage
  try {
    page = await api<DeadLetterPage>(query('/v1/dead-letters', { limit: String(DEAD_LIMIT) }))
  } catch (err) {
    if (!(err instanceof Unauthorized)) setText('dead-message', failure(err))
    return
  }
  const body = byId('dead-rows')
  const all = byId<HTMLButtonElement>('redrive-all')
  all.disabled = page.data.length === 0
  if (page.data.length === 0) {
    body.replaceChildren(el('tr', {}, el('td', { colspan: 3, class: 'empty' }, 'No dead letters.')))
    return
  }
  body.replaceChildren(...page.data.map(deadRow))
  if (page.nextCursor) {
    const more = `Showing the ${DEAD_LIMIT} most recent; sluice dlq list shows them all.`
    body.append(el('tr', {}, el('td', { colspan: 3, class: 'empty' }, more)))
  }
}

function deadRow(d: DeadLetter): HTMLTableRowElement {
  const key = `${d.source}/${d.id}`
  const button = el('button', { class: 'small', 'data-retry': key, 'data-redrive': key }, 'Retry')
  button.addEventListener('click', () => void retry(button, [{ source: d.source, id: d.id }]))
  const attempts = d.attempts === 1 ? '1 attempt' : `${d.attempts} attempts`
  return el(
    'tr',
    { 'data-dead': `${d.source}/${d.id}` },
    el(
      'td',
      {},
      el('div', { class: 'mono clip', title: d.id }, d.id),
      el('div', { class: 'muted small-text' }, `${d.source} · ${d.reason} · ${attempts}`),
      el('div', { class: 'error-text small-text clamp', title: d.lastError }, d.lastError),
    ),
    el(
      'td',
      { class: 'muted small-text', title: fmtTime(d.lastFailedAt, true) },
      ago(d.lastFailedAt),
    ),
    el('td', { class: 'right' }, button),
  )
}

/** Retries `ids` (all letters when absent), then shows the outcome and reads the list again. */
async function retry(button: HTMLButtonElement, ids?: { source: string; id: string }[]) {
  const label = button.textContent
  button.disabled = true
  button.textContent = 'Retrying…'
  try {
    const body: DeadLetterRetryBody = ids ? { ids } : {}
    const r = await api<DeadLetterRetryResult>('/v1/dead-letters/retry', body)
    const again = r.failed > 0 ? `, ${r.failed} failed again (still listed)` : ''
    setText('dead-message', `Retry: ${r.count} stored${again}.`)
  } catch (err) {
    if (!(err instanceof Unauthorized)) setText('dead-message', `Retry failed: ${failure(err)}`)
  } finally {
    button.textContent = label
    button.disabled = false
  }
  await Promise.all([refreshDeadLetters(), refreshStatus()])
}

function initDeadLetters(): void {
  const all = byId<HTMLButtonElement>('redrive-all')
  all.addEventListener('click', () => void retry(all))
}
