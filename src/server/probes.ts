import type { Journal } from '../../journal/types.js'
import { registry } from '../metrics.js'
import { Reply } from './respond.js'
import type { HttpResponse } from './uws.js'

/** One readiness check; `ok: false` makes /readyz answer 503. Extra fields are shown as is. */
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

/** GET /readyz: 200 when the engine accepts events (journal open, every extra check ok), else 503. */
export function handleReady(
  res: HttpResponse,
  journal: Journal,
  extra: ReadinessFn,
  accepting: () => boolean,
): void {
  const reply = new Reply(res, 'readyz')
  void (async () => {
    const checks: Record<string, ReadinessCheck> = {
      accepting: { ok: accepting() },
    }
    try {
      checks.journal = await journalCheck(journal)
    } catch (err) {
      checks.journal = { ok: false, error: (err as Error).message }
    }
    try {
      Object.assign(checks, await extra())
    } catch (err) {
      checks.readiness = { ok: false, error: (err as Error).message }
    }
    const ok = Object.values(checks).every((c) => c.ok)
    const headers: Record<string, string> = ok ? {} : { 'retry-after': '1' }
    reply.json(ok ? 200 : 503, { status: ok ? 'ready' : 'not_ready', checks }, headers)
  })()
}

export function handleMetrics(res: HttpResponse): void {
  const reply = new Reply(res, 'metrics')
  registry.metrics().then(
    (text) => reply.send(200, registry.contentType, text),
    (err: unknown) => reply.send(500, 'text/plain', `metrics failed: ${(err as Error).message}`),
  )
}
