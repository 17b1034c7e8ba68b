import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { TOKEN_FILE } from '../admin/auth.js'
import { SluiceApiError, sluiceClient, type SluiceClient } from '../client/index.js'
import type { Config } from '../config.js'
import { ExitCode } from './args.js'

/** A failed call: the engine is not reachable, refused the token, or answered an error. */
export { SluiceApiError as AdminCallError }

/**
 * The README's exit code for a failed call: 2 when the API refused a value the command line
 * gave (`invalid_request`: nothing was done, the command must be corrected); 1 for anything
 * else, since the command ran and the engine refused or failed it for a reason of its own
 * (a destination its SLUICE_OUTBOUND_ALLOW refuses, no such id, a wrong token, no engine).
 */
export function exitCodeOf(err: SluiceApiError): number {
  return err.code === 'invalid_request' ? ExitCode.usage : ExitCode.failure
}

/** No answer at all: nothing listens on the admin address, so no engine runs there. */
export const unreachable = (err: unknown): boolean =>
  err instanceof SluiceApiError && err.status === null

/**
 * The typed client (src/client) of the engine this configuration describes
 * (SLUICE_ADMIN_HOST/PORT), with the first SLUICE_ADMIN_TOKEN or the token file in
 * SLUICE_DATA_DIR: the commands show what the running engine sees, as its API answers it.
 */
export function adminClient(config: Config, timeoutMs?: number): SluiceClient {
  const host = config.SLUICE_ADMIN_HOST === '0.0.0.0' ? '127.0.0.1' : config.SLUICE_ADMIN_HOST
  const file = join(config.SLUICE_DATA_DIR, TOKEN_FILE)
  return sluiceClient({
    baseUrl: `http://${host.includes(':') ? `[${host}]` : host}:${config.SLUICE_ADMIN_PORT}`,
    token:
      config.SLUICE_ADMIN_TOKEN?.[0] ?? (existsSync(file) ? readFileSync(file, 'utf8').trim() : ''),
    unauthorizedHint: `set SLUICE_ADMIN_TOKEN, or SLUICE_DATA_DIR to the engine's (token file ${file})`,
    ...(timeoutMs !== undefined ? { timeoutMs } : {}),
  })
}
