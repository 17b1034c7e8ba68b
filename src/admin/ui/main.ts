// The page's life: the token form, then the dashboard refreshing itself. Status (and an open
// pending delivery) every 2 s; the lists every 10 s (they query Postgres) or on demand.
// Nothing is fetched while the tab is hidden, and a 401 anywhere brings the token form back.

const STATUS_EVERY_MS = 2000
const LISTS_EVERY_MS = 10000

let statusInFlight = false
let lastUpdate = 0
/** The dead-letter count last shown: when it changes the list is read at once, not in 10 s. */
let deadCount: number | null = null

async function refreshStatus(): Promise<void> {
  if (statusInFlight || !token()) return
  statusInFlight = true
  try {
    const s = await api<Status>('/v1/status')
    renderStatus(s)
    if (s.deadLetters !== deadCount) {
      deadCount = s.deadLetters
      void refreshDeadLetters()
    }
    lastUpdate = Date.now()
    setText('updated', `updated ${fmtClock(lastUpdate)}`)
    byId('updated').className = 'muted'
  } catch (err) {
    if (err instanceof Unauthorized) return
    // Keep the last numbers on screen but say loudly that they are old.
    const since = lastUpdate ? `; last update ${fmtDuration(Date.now() - lastUpdate)} ago` : ''
    setText('updated', `${failure(err)}${since}`)
    byId('updated').className = 'error-text'
    setBadge('overall', 'bad', 'No answer from the engine')
  } finally {
    statusInFlight = false
  }
}

function refreshLists(): Promise<void> {
  return Promise.all([
    refreshDeadLetters(),
    refreshEventsIfFirstPage(),
    refreshSubscriptions(),
    refreshDeliveriesIfFirstPage(),
  ]).then(() => undefined)
}

function showLogin(message: string): void {
  byId('dashboard').hidden = true
  byId('drawer').hidden = true
  byId('delivery-drawer').hidden = true
  byId('signout').hidden = true
  byId('login').hidden = false
  setText('login-message', message)
  byId<HTMLInputElement>('token').focus()
}

function showDashboard(): void {
  byId('login').hidden = true
  byId('dashboard').hidden = false
  byId('signout').hidden = false
  setText('login-message', '')
  void refreshStatus()
  void refreshDeadLetters()
  void refreshEvents()
  void refreshSubscriptions()
  void refreshDeliveries()
}

function start(): void {
  document.addEventListener(UNAUTHORIZED_EVENT, (ev) => {
    showLogin(String((ev as CustomEvent).detail))
  })
  initDeadLetters()
  initEvents()
  initEventDetail()
  initDeliveries()
  initDeliveryDetail()
  initReplay()
  byId('login-form').addEventListener('submit', (ev) => {
    ev.preventDefault()
    const input = byId<HTMLInputElement>('token')
    const value = input.value.trim()
    if (!value) return
    saveToken(value)
    input.value = ''
    showDashboard()
  })
  byId('signout').addEventListener('click', () => {
    forgetToken()
    showLogin('Token forgotten. Type it again to continue.')
  })
  const visible = (): boolean => !document.hidden && !byId('dashboard').hidden
  setInterval(() => {
    if (!visible()) return
    void refreshStatus()
    void refreshOpenDeliveryIfPending()
  }, STATUS_EVERY_MS)
  setInterval(() => {
    if (visible()) void refreshLists()
  }, LISTS_EVERY_MS)
  if (token()) showDashboard()
  else showLogin('')
}

start()
