import type pg from 'pg'

export interface PingResult {
  ok: boolean
  /** Round trip in ms when ok. */
  latencyMs?: number
  /** Why not, when not ok. */
  error?: string
}

/**
 * One `SELECT 1` for /readyz, bounded by `timeoutMs` so a hung link answers "not ready" instead
 * of hanging the probe. Never throws.
 */
export async function ping(pool: pg.Pool, timeoutMs = 2000): Promise<PingResult> {
  const started = Date.now()
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs)
  })
  try {
    await Promise.race([pool.query('SELECT 1'), timeout])
    return { ok: true, latencyMs: Date.now() - started }
  } catch (err) {
    return { ok: false, error: (err as Error).message }
  } finally {
    clearTimeout(timer)
  }
}
