/**
 * The dispatcher's view of its database, for /readyz and GET /v1/status (`checks.dispatcher`).
 * Down while its claims or its result writes fail (Postgres stopped or unreachable: attempts in
 * flight keep their results and their leases meanwhile), up again at the first of each that
 * succeeds. The LISTEN connection is shown but does not decide: without it the dispatcher polls.
 */
export interface DispatcherHealth {
  ok: boolean
  /** idle: no subscription exists, so no dispatcher thread runs on this node (`detail` says so). */
  state: 'starting' | 'up' | 'down' | 'idle'
  /** The LISTEN connection: connected or not; null where none is used (embedded Postgres). */
  listening: boolean | null
  /** When it went down (ISO 8601), while down. */
  since: string | null
  lastError: string | null
  /** A sentence for the operator where the state alone does not say enough. */
  detail?: string
}

/** What reaches Postgres: failures of either part make the dispatcher down. */
export type HealthPart = 'claims' | 'results'

export class HealthState {
  private readonly failing = new Map<HealthPart, { since: number; error: string }>()

  failed(part: HealthPart, err: unknown): void {
    const error = err instanceof Error ? err.message : String(err)
    const since = this.failing.get(part)?.since ?? Date.now()
    this.failing.set(part, { since, error })
  }

  succeeded(part: HealthPart): void {
    this.failing.delete(part)
  }

  view(listening: boolean | null): DispatcherHealth {
    const failures = [...this.failing.values()]
    if (failures.length === 0) {
      return { ok: true, state: 'up', listening, since: null, lastError: null }
    }
    const since = Math.min(...failures.map((f) => f.since))
    return {
      ok: false,
      state: 'down',
      listening,
      since: new Date(since).toISOString(),
      lastError: failures.map((f) => f.error).join('; '),
    }
  }
}

/** Before a dispatcher runs: the thread starting (or restarting), or waiting for the database. */
export function notRunning(lastError: string | null): DispatcherHealth {
  return { ok: false, state: 'starting', listening: null, since: null, lastError }
}
