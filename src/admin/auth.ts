import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { refuseExposedFile } from '../util/private-file.js'

/** Where the admin tokens came from, for the start-up log (never the tokens themselves). */
export type TokenSource =
  { from: 'env'; count: number } | { from: 'file'; path: string; created: boolean }

export const TOKEN_FILE = 'admin-token'

/**
 * The admin tokens: SLUICE_ADMIN_TOKEN's when set, else the one in <dataDir>/admin-token,
 * created (random, mode 0600) at first start and kept across restarts, so a script that read
 * it once keeps working. An existing file that group or others may read is refused (ConfigError),
 * as ssh refuses such a private key: the token may already be known beyond its owner, so
 * quietly tightening it would keep a leaked token working. The operator decides: chmod it to
 * keep it, or delete it to have a new one made.
 */
export function loadAdminTokens(
  configured: readonly string[] | undefined,
  dataDir: string,
): { tokens: string[]; source: TokenSource } {
  if (configured && configured.length > 0) {
    return { tokens: [...configured], source: { from: 'env', count: configured.length } }
  }
  const path = join(dataDir, TOKEN_FILE)
  if (existsSync(path)) {
    const token = readFileSync(path, 'utf8').trim()
    if (token.length >= 16) {
      refuseExposedFile(
        path,
        'admin token',
        `chmod 600 ${path} to keep the token, or delete the file to have a new one made at start, ` +
          'or set SLUICE_ADMIN_TOKEN',
      )
      return { tokens: [token], source: { from: 'file', path, created: false } }
    }
    // Too short to be ours: replaced. Removed first so the new token never sits in a file with
    // the old one's mode.
    unlinkSync(path)
  }
  mkdirSync(dataDir, { recursive: true })
  const token = randomBytes(32).toString('base64url')
  // 'wx': a new file, so the mode applies from the first byte (the umask can only narrow it).
  writeFileSync(path, `${token}\n`, { mode: 0o600, flag: 'wx' })
  return { tokens: [token], source: { from: 'file', path, created: true } }
}

const digest = (s: string) => createHash('sha256').update(s).digest()

/**
 * Checks `Authorization: Bearer <token>` against every configured token. Both sides are hashed
 * first, so the comparison is over equal lengths and timingSafeEqual applies; every token is
 * compared (no early exit), so timing tells neither which nor how long.
 */
export class BearerAuth {
  private readonly digests: Buffer[]

  constructor(tokens: readonly string[]) {
    if (tokens.length === 0) throw new TypeError('at least one admin token is required')
    this.digests = tokens.map(digest)
  }

  check(header: string): boolean {
    const m = /^Bearer +(\S+) *$/i.exec(header)
    const presented = digest(m?.[1] ?? '')
    let ok = false
    for (const d of this.digests) ok = timingSafeEqual(d, presented) || ok
    return ok && m !== null
  }
}
