import { statSync } from 'node:fs'
import { ConfigError } from '../errors.js'

/**
 * Refuses a key file that group or others may read or write, as ssh refuses such a private
 * key: what is in it may already be known beyond its owner, so quietly tightening the mode
 * would keep a leaked key working. The operator decides; `fix` says how.
 */
export function refuseExposedFile(path: string, holds: string, fix: string): void {
  // Windows has no such mode bits (Node reports 0o666 for every writable file).
  if (process.platform === 'win32') return
  const mode = statSync(path).mode & 0o777
  if ((mode & 0o077) === 0) return
  throw new ConfigError(
    `${path} is readable or writable by group or others (mode 0${mode.toString(8)}); the ${holds} ` +
      `in it may be known beyond this user. Fix: ${fix}`,
  )
}
