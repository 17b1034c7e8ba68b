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

function renderDatabase(d: DatabaseCheck): void {
  setBadge('database-state', stateTone(d.ok, d.state), d.ok ? d.state : `${d.state} · ${d.code}`)
  const where = d.embedded ? 'embedded Postgres' : 'PostgreSQL'
  setText('database-detail', `${where} · ${d.consuming ? 'consuming' : 'not consuming'}`)
  setText('database-error', problemText(d, d.pingError))
  setText('database-hint', d.hint ?? '')
}

/** The header badge: one sentence on whether events are safe and flowing. */
function renderOverall(s: Status): void {
  const { broker, database } = s.checks
  const down = [
    broker.state === 'up' && broker.ok ? null : 'broker',
    stateTone(database.ok, database.state) === 'ok' ? null : 'database',
  ].filter((x) => x !== null)
  if (s.status !== 'ready') setBadge('overall', 'bad', `Not accepting events (${s.status})`)
  else if (down.length > 0)
    setBadge('overall', 'warn', `Accepting; ${down.join(' and ')} down, events wait in the journal`)
  else setBadge('overall', 'ok', 'Healthy: accepting and storing')
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
  setText('backlog', fmtInt(j.backlog))
  setText(
    'backlog-age',
    j.oldestPendingAgeMs === null
      ? 'nothing waiting'
      : `oldest ${fmtDuration(j.oldestPendingAgeMs)}`,
  )
  byId('backlog-tile').dataset.tone = j.backlog > 0 ? 'warn' : 'ok'

  setText('dead-count', s.deadLetters === null ? '—' : fmtInt(s.deadLetters))
  setText(
    'dead-detail',
    s.deadLetters === null ? 'database not up' : `${fmtInt(s.totals.failed)} failed since start`,
  )
  byId('dead-tile').dataset.tone = (s.deadLetters ?? 0) > 0 ? 'bad' : 'ok'

  renderBroker(s.checks.broker)
  renderDatabase(s.checks.database)
  drawChart(byId<SVGSVGElement>('chart'), s.history.points)
  const last = s.history.points.at(-1)
  setText(
    'chart-now',
    last
      ? `received ${fmtRate(last.received)}/s · stored ${fmtRate(last.stored)}/s in the last 5 s`
      : '',
  )
}
