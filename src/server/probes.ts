import type { Journal } from '../../journal/types.js'
import { metricsText, registry } from '../metrics.js'
import { Reply } from './respond.js'
import type { HttpResponse } from './uws.js'

/**
 * One readiness check. Extra fields are shown as is. Only `accepting` and `journal` decide the
 * status code: the pipeline's checks (broker, database) are informative, because ingest works
 * without them (the journal holds the events).
 */
export type ReadinessCheck = { ok: boolean; [k: string]: unknown }
export type ReadinessFn = () => Promise<Record<string, ReadinessCheck>>

export function handleHealth(res: HttpResponse): void {
  new Reply(res, 'healthz').json(200, { status: 'ok' })
}

async function journalCheck(journal: Journal): Promise<ReadinessCheck> {
  const s = await journal.stats()
  const state = s.state ?? 'open'
  return {
    ok: state === 'open',
    state,
    backlog: s.pending,
    bytes: s.bytes,
    maxBytes: s.maxBytes ?? null,
    freeDiskBytes: s.freeDiskBytes ?? null,
    oldestPendingAt: s.oldestPendingAt,
    // How far the forwarder is behind: grows while the broker is unreachable.
    oldestPendingAgeMs:
      s.oldestPendingAt === null ? null : Math.max(0, Date.now() - s.oldestPendingAt),
  }
}

/** What /readyz answers: `ok` decides its status code. Also the core of GET /v1/status. */
export async function readinessReport(
  journal: Journal,
  extra: ReadinessFn,
  accepting: () => boolean,
): Promise<{ ok: boolean; status: 'ready' | 'not_ready'; checks: Record<string, ReadinessCheck> }> {
  const open: ReadinessCheck = { ok: accepting() }
  const stored = await journalCheck(journal).catch((err: unknown): ReadinessCheck => ({
    ok: false,
    error: (err as Error).message,
  }))
  const checks: Record<string, ReadinessCheck> = { accepting: open, journal: stored }
  try {
    Object.assign(checks, await extra())
  } catch (err) {
    checks.readiness = { ok: false, error: (err as Error).message }
  }
  const ok = open.ok && stored.ok
  return { ok, status: ok ? 'ready' : 'not_ready', checks }
}

/** GET /readyz: 200 when the engine accepts events (accepting, journal open), else 503. */
export function handleReady(
  res: HttpResponse,
  journal: Journal,
  extra: ReadinessFn,
  accepting: () => boolean,
): void {
  const reply = new Reply(res, 'readyz')
  void readinessReport(journal, extra, accepting).then(({ ok, status, checks }) => {
    const headers: Record<string, string> = ok ? {} : { 'retry-after': '1' }
    reply.json(ok ? 200 : 503, { status, checks }, headers)
  })
}

export function handleMetrics(res: HttpResponse): void {
  const reply = new Reply(res, 'metrics')
  metricsText().then(
    (text) => reply.send(200, registry.contentType, text),
    (err: unknown) => reply.send(500, 'text/plain', `metrics failed: ${(err as Error).message}`),
  )
}
