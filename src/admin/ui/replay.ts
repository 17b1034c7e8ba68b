// The replay form (POST /v1/replay): stored events chosen by source, type, time and
// subscription are delivered again. Two steps: a dry run that says how many, then a confirm
// that replays exactly that filter; any change to the form takes the confirm back.

const replayView = {
  /** The filter the last dry run counted, as JSON; the confirm replays only that one. */
  counted: '',
}

interface ReplayFilter {
  source?: string
  type?: string
  since?: string
  until?: string
  subscriptionId?: string
  /** The API refuses a replay without a filter unless it says that every event is meant. */
  all?: true
}

/** The form as the API's body; a time the browser cannot read is an error said to the user. */
function replayFilter(): ReplayFilter {
  const value = (id: string): string => byId<HTMLInputElement>(id).value.trim()
  const filter: ReplayFilter = {}
  for (const [key, id] of [
    ['source', 'replay-source'],
    ['type', 'replay-type'],
    ['subscriptionId', 'replay-subscription'],
  ] as const) {
    if (value(id)) filter[key] = value(id)
  }
  for (const [key, id] of [
    ['since', 'replay-since'],
    ['until', 'replay-until'],
  ] as const) {
    if (!value(id)) continue
    // datetime-local has no zone; the form says UTC, as every time on the page is.
    const at = new Date(`${value(id)}Z`)
    if (Number.isNaN(at.getTime())) throw new Error(`${key}: not a date and time`)
    filter[key] = at.toISOString()
  }
  // An empty form is the operator's choice of everything: the dry run counts it first.
  if (Object.keys(filter).length === 0) filter.all = true
  return filter
}

function renderReplaySubscriptions(list: ListedSubscription[]): void {
  const select = byId<HTMLSelectElement>('replay-subscription')
  const chosen = select.value
  const options = [el('option', { value: '' }, 'every matching subscription')]
  for (const s of list) options.push(el('option', { value: s.id }, s.description ?? s.url))
  select.replaceChildren(...options)
  select.value = list.some((s) => s.id === chosen) ? chosen : ''
}

function resetReplayConfirm(): void {
  replayView.counted = ''
  const confirm = byId<HTMLButtonElement>('replay-confirm')
  confirm.disabled = true
  confirm.textContent = 'Replay'
}

async function replayDryRun(): Promise<void> {
  resetReplayConfirm()
  let filter: ReplayFilter
  try {
    filter = replayFilter()
  } catch (err) {
    setText('replay-message', (err as Error).message)
    return
  }
  setText('replay-message', 'Counting…')
  try {
    const r = await api<{ count: number }>('/v1/replay', { ...filter, dryRun: true })
    const events = r.count === 1 ? '1 delivery' : `${fmtInt(r.count)} deliveries`
    const scope = filter.all ? ' (no filter: every stored event)' : ''
    setText('replay-message', `Dry run: replaying makes ${events}${scope}. Nothing was sent.`)
    if (r.count === 0) return
    replayView.counted = JSON.stringify(filter)
    const confirm = byId<HTMLButtonElement>('replay-confirm')
    confirm.disabled = false
    confirm.textContent = `Replay ${fmtInt(r.count)}`
  } catch (err) {
    if (!(err instanceof Unauthorized)) setText('replay-message', failure(err))
  }
}

async function replayConfirm(): Promise<void> {
  const filter = replayFilter()
  if (JSON.stringify(filter) !== replayView.counted) return resetReplayConfirm()
  resetReplayConfirm()
  setText('replay-message', 'Replaying…')
  try {
    const r = await api<{ count: number }>('/v1/replay', { ...filter, dryRun: false })
    setText('replay-message', `Replayed: ${fmtInt(r.count)} new deliveries, due now.`)
  } catch (err) {
    if (!(err instanceof Unauthorized)) setText('replay-message', `Replay failed: ${failure(err)}`)
  }
  await Promise.all([refreshSubscriptions(), refreshDeliveries()])
}

function initReplay(): void {
  const form = byId<HTMLFormElement>('replay-form')
  form.addEventListener('submit', (ev) => {
    ev.preventDefault()
    void replayDryRun()
  })
  // The count shown belongs to the filter it was made for.
  const changed = (): void => {
    if (!replayView.counted) return
    resetReplayConfirm()
    setText('replay-message', 'The filter changed: run the dry run again.')
  }
  form.addEventListener('input', changed)
  form.addEventListener('change', changed)
  byId('replay-confirm').addEventListener('click', () => void replayConfirm())
}
