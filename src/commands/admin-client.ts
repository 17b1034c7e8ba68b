import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { TOKEN_FILE } from '../admin/auth.js'
import type { Config } from '../config.js'
import { ExitCode } from './args.js'

/** A failed call: the engine is not reachable, refused the token, or answered an error. */
export class AdminCallError extends Error {
  constructor(
    message: string,
    readonly status: number | null,
    /** The answer's stable `error` code (src/errors.ts); null when there was no error body. */
    readonly code: string | null = null,
  ) {
    super(message)
    this.name = 'AdminCallError'
  }

  /**
   * The README's exit code for this failure: 2 when the API refused a value the command line
   * gave (`invalid_request`: nothing was done, the command must be corrected); 1 for anything
   * else, since the command ran and the engine refused or failed it for a reason of its own
   * (a destination its SLUICE_OUTBOUND_ALLOW refuses, no such id, a wrong token, no engine).
   */
  get exitCode(): number {
    return this.code === 'invalid_request' ? ExitCode.usage : ExitCode.failure
  }
}

/**
 * Calls the admin API of the engine this configuration describes (SLUICE_ADMIN_HOST/PORT),
 * with the first SLUICE_ADMIN_TOKEN or the token file in SLUICE_DATA_DIR: the commands show
 * what the running engine sees, exactly as GET /v1/... answers it.
 */
export function adminClient(config: Config) {
  const host = config.SLUICE_ADMIN_HOST === '0.0.0.0' ? '127.0.0.1' : config.SLUICE_ADMIN_HOST
  const base = `http://${host.includes(':') ? `[${host}]` : host}:${config.SLUICE_ADMIN_PORT}`
  const file = join(config.SLUICE_DATA_DIR, TOKEN_FILE)
  const token =
    config.SLUICE_ADMIN_TOKEN?.[0] ?? (existsSync(file) ? readFileSync(file, 'utf8').trim() : '')
  return async function call<T>(
    path: string,
    request: { method?: 'GET' | 'POST' | 'PATCH'; body?: unknown } = {},
  ): Promise<T> {
    let res: Response
    try {
      res = await fetch(`${base}${path}`, {
        method: request.method ?? 'GET',
        headers: {
          authorization: `Bearer ${token}`,
          ...(request.body !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        ...(request.body !== undefined ? { body: JSON.stringify(request.body) } : {}),
        signal: AbortSignal.timeout(10_000),
      })
    } catch (err) {
      const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message
      throw new AdminCallError(
        `the engine's admin API at ${base} is not reachable (${cause})`,
        null,
      )
    }
    const body = (await res.json().catch(() => null)) as { message?: string; error?: string } | null
    if (!res.ok) {
      const why = body?.message ?? res.statusText
      const hint =
        res.status === 401
          ? `; set SLUICE_ADMIN_TOKEN, or SLUICE_DATA_DIR to the engine's (token file ${file})`
          : ''
      const code = typeof body?.error === 'string' ? body.error : null
      throw new AdminCallError(`${path}: ${res.status} ${why}${hint}`, res.status, code)
    }
    return body as T
  }
}
