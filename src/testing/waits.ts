import { SluiceApiError, type EventDetail } from '../client/index.js'
import type { TestEngine } from './test-engine.js'
import { until } from './until.js'

export interface WaitOptions {
  /** The source the event came in by. @defaultValue 'default' */
  source?: string
  /** A safety net, not a timing assertion. @defaultValue 60000 */
  timeoutMs?: number
}

/**
 * Poll the engine's admin API for the event until `ready` says it is there; a missing event, a
 * restarting engine (no answer) or a not yet ready one (5xx) mean "not yet", anything else
 * (a wrong token, say) fails at once. The timeout's error names the event and the last state.
 */
async function pollEvent(
  engine: TestEngine,
  id: string,
  options: WaitOptions,
  what: string,
  ready: (event: EventDetail) => string | null,
): Promise<EventDetail> {
  const source = options.source ?? 'default'
  let last = 'no answer yet'
  let found: EventDetail | null = null
  await until(
    `event ${source}/${id} ${what}`,
    async () => {
      try {
        const detail = await engine.client.getEvent(source, id)
        const missing = ready(detail)
        if (missing === null) found = detail
        last = missing ?? 'done'
      } catch (err) {
        const status = err instanceof SluiceApiError ? err.status : -1
        if (status !== null && status !== 404 && status < 500) throw err
        last = (err as Error).message
      }
      return found !== null
    },
    options.timeoutMs ?? 60000,
    100,
    () => last,
  )
  return found!
}

/** Resolves with the event once it is a row in Postgres (the admin API's GET /v1/events/:source/:id). */
export function waitForStored(
  engine: TestEngine,
  id: string,
  options: WaitOptions = {},
): Promise<EventDetail> {
  return pollEvent(engine, id, options, 'is stored', () => null)
}

/**
 * Resolves with the event once it has at least one delivery and every one of them succeeded
 * (as the engine records it); rejects at once when one failed for good or was cancelled.
 */
export function waitForDelivered(
  engine: TestEngine,
  id: string,
  options: WaitOptions = {},
): Promise<EventDetail> {
  return pollEvent(engine, id, options, 'is delivered to every subscription', (event) => {
    if (event.deliveries.length === 0) return 'stored, no delivery yet'
    const final = event.deliveries.find((d) => d.status === 'failed' || d.status === 'cancelled')
    if (final) {
      const why = `delivery ${final.id} ${final.status}: ${final.lastError ?? final.lastStatus}`
      throw new Error(`event ${options.source ?? 'default'}/${id} will not be delivered: ${why}`)
    }
    const pending = event.deliveries.filter((d) => d.status !== 'succeeded')
    if (pending.length === 0) return null
    return pending
      .map(
        (d) =>
          `delivery ${d.id} ${d.status} after ${d.attempts} attempts (${d.lastError ?? d.lastStatus ?? 'no answer yet'})`,
      )
      .join('; ')
  })
}
