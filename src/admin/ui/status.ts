// The headline of the page from GET /v1/status: rates and totals, the journal backlog, the
// broker and database states with their last error, the dead-letter count and the chart.

/** up -> green; on its way (connecting, starting, migrating) -> amber; anything else -> red. */
function stateTone(ok: boolean, state: string): Tone {
  if (!ok) return 'bad'
  if (state === 'up') return 'ok'
  return ['connecting', 'starting', 'migrating'].includes(state) ? 'warn' : 'bad'
}

/** The error line of a check: its permanent problem, else what the last attempt said. */
function problemText(check: Check, transient?: string | null): string {
  if (check.code) return `${check.code}: ${check.error ?? ''}`
  return transient ?? ''
}

/** The broker's check, its missing fields shown as unknown (also when readiness itself failed). */
function brokerCheck(s: Status): BrokerCheck {
  const b = s.checks.broker ?? { ok: false, error: s.checks.readiness?.error }
  return { name: 'broker', state: 'unknown', forwarder: 'unknown', consecutiveFailures: 0, ...b }
}

/** The database's check, its missing fields shown as unknown. */
function databaseCheck(s: Status): DatabaseCheck {
  const d = s.checks.database ?? { ok: false, error: s.checks.readiness?.error }
  return { state: 'unknown', consuming: false, embedded: false, ...d }
}

function renderBroker(b: BrokerCheck): void {
  // 'connecting' while publishes fail is an outage (the adapter reconnecting), not a start-up.
  const failing = b.state !== 'up' && b.consecutiveFailures > 0
  const tone = failing ? 'bad' : stateTone(b.ok, b.state)
  setBadge('broker-state', tone, b.ok ? b.state : `${b.state} · ${b.code ?? 'error'}`)
  const failures = b.consecutiveFailures > 0 ? ` · ${b.consecutiveFailures} failed publishes` : ''
  setText('broker-detail', `${b.name} · forwarder ${b.forwarder}${failures}`)
  // The forwarder keeps its last error after a recovery; it matters only while not up.
  setText('broker-error', tone === 'ok' && !b.code ? '' : problemText(b, b.lastError))
  setText('broker-hint', b.hint ?? '')
}

/** Outbound delivery's part of the database line: whether its claims and writes get through. */
function deliveringText(x: DispatcherCheck | undefined): string {
  if (!x) return ''
  if (!x.ok) return ` · not delivering (${x.state})`
  return x.listening === false ? ' · delivering (polling)' : ' · delivering'
}

function renderDatabase(d: DatabaseCheck, x: DispatcherCheck | undefined): void {
  setBadge('database-state', stateTone(d.ok, d.state), d.ok ? d.state : `${d.state} · ${d.code}`)
  const where = d.embedded ? 'embedded Postgres' : 'PostgreSQL'
  const consuming = d.consuming ? 'consuming' : 'not consuming'
  setText('database-detail', `${where} · ${consuming}${deliveringText(x)}`)
  const dispatcherError = x && !x.ok && x.lastError ? `dispatcher: ${x.lastError}` : null
  setText('database-error', problemText(d, d.pingError ?? dispatcherError))
  setText('database-hint', d.hint ?? '')
}

/** The API counts pending deliveries up to this many (src/db/outbound-backlog.ts). */
const PENDING_COUNT_CAP = 100000

/** "1 subscription failing, 2 paused", or '' while no subscription fails or is paused. */
function subscriptionTrouble(d: DeliveriesStatus): string {
  const failing = d.failingSubscriptions ?? 0
  const paused = d.pausedSubscriptions ?? 0
  const some = (n: number): string => (n === 1 ? '1 subscription' : `${fmtInt(n)} subscriptions`)
  if (failing > 0 && paused > 0) return `${some(failing)} failing, ${fmtInt(paused)} paused`
  if (failing > 0) return `${some(failing)} failing`
  if (paused > 0) return `${some(paused)} paused`
  return ''
}

/** The header badge: one sentence on whether events are safe and flowing, in and out. */
function renderOverall(s: Status): void {
  const [broker, database] = [brokerCheck(s), databaseCheck(s)]
  const down = [
    broker.state === 'up' && broker.ok ? null : 'broker',
    stateTone(database.ok, database.state) === 'ok' ? null : 'database',
  ].filter((x) => x !== null)
  const outbound = subscriptionTrouble(s.deliveries)
  if (s.status !== 'ready') setBadge('overall', 'bad', `Not accepting events (${s.status})`)
  else if (down.length > 0) {
    const also = outbound ? `; ${outbound}` : ''
    setBadge(
      'overall',
      'warn',
      `Accepting; ${down.join(' and ')} down, events wait in the journal${also}`,
    )
  } else if (outbound) setBadge('overall', 'warn', `Degraded: ${outbound}`)
  else setBadge('overall', 'ok', 'Healthy: accepting and storing')
}

/** The Deliveries tile: amber while a subscription fails or is paused. */
function renderDeliveries(d: DeliveriesStatus): void {
  setText('delivered-rate', fmtRate(d.deliveredPerSecond))
  const count = (n: number | null): string => (n === null ? '–' : fmtInt(n))
  const capped = (d.pending ?? 0) >= PENDING_COUNT_CAP ? '+' : ''
  setText('deliveries-pending', `${count(d.pending)}${capped}`)
  const oldest = d.oldestPendingSeconds
  setText(
    'deliveries-oldest',
    oldest === null ? '–' : oldest === 0 ? 'none' : fmtDuration(oldest * 1000),
  )
  for (const [id, n] of [
    ['deliveries-failing', d.failingSubscriptions],
    ['deliveries-paused', d.pausedSubscriptions],
  ] as const) {
    setText(id, count(n))
    byId(id).className = (n ?? 0) > 0 ? 'warn-text' : ''
  }
  const tile = byId('deliveries-tile')
  tile.dataset.tone = subscriptionTrouble(d) ? 'warn' : 'ok'
  tile.title =
    `deliveries that succeeded per second over the last minute (this node); ` +
    `${fmtRate(d.failedPerSecond)} failed attempts/s; ` +
    `${count(d.disabledSubscriptions)} disabled subscriptions; pending deliveries and ` +
    'subscriptions as Postgres counted them, every 5 s'
}

function renderStatus(s: Status): void {
  renderOverall(s)
  const n = s.node
  setText(
    'node',
    `${n.hostname} · pid ${n.pid} · v${s.version} · up ${fmtDuration(n.uptimeSeconds * 1000)}`,
  )
  setText('received-rate', fmtRate(s.rates.receivedPerSecond))
  setText('received-total', `${fmtInt(s.totals.received)} since start`)
  setText('stored-rate', fmtRate(s.rates.storedPerSecond))
  setText('stored-total', `${fmtInt(s.totals.stored)} since start`)
  const over = `events per second over the last ${s.rates.windowSeconds} s`
  byId('received-tile').title = `received: ${over}`
  byId('stored-tile').title = `stored: ${over}`

  const j = s.checks.journal
  // A journal whose stats could not be read has only ok and error: shown as empty.
  const backlog = j.backlog ?? 0
  setText('backlog', fmtInt(backlog))
  setText(
    'backlog-age',
    j.oldestPendingAgeMs === null || j.oldestPendingAgeMs === undefined
      ? 'none in the journal'
      : `in the journal · oldest ${fmtDuration(j.oldestPendingAgeMs)}`,
  )
  byId('backlog-tile').title = 'events in the journal that the broker has not confirmed yet'
  byId('backlog-tile').dataset.tone = backlog > 0 ? 'warn' : 'ok'

  setText('dead-count', s.deadLetters === null ? '—' : fmtInt(s.deadLetters))
  setText(
    'dead-detail',
    s.deadLetters === null ? 'database not up' : `${fmtInt(s.totals.failed)} since start`,
  )
  byId('dead-tile').title = 'events that could not be stored (GET /v1/dead-letters)'
  byId('dead-tile').dataset.tone = (s.deadLetters ?? 0) > 0 ? 'bad' : 'ok'

  renderDeliveries(s.deliveries)
  renderBroker(brokerCheck(s))
  renderDatabase(databaseCheck(s), s.checks.dispatcher)
  drawChart(byId<SVGSVGElement>('chart'), s.history.points)
  const last = s.history.points.at(-1)
  setText(
    'chart-now',
    last
      ? `received ${fmtRate(last.received)}/s · stored ${fmtRate(last.stored)}/s in the last 5 s`
      : '',
  )
}
