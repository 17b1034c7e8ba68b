import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

/** Where the admin tokens came from, for the start-up log (never the tokens themselves). */
export type TokenSource =
  { from: 'env'; count: number } | { from: 'file'; path: string; created: boolean }

export const TOKEN_FILE = 'admin-token'

/**
 * The admin tokens: SLUICE_ADMIN_TOKEN's when set, else the one in <dataDir>/admin-token,
 * created (random, mode 0600) at first start and kept across restarts, so a script that read
 * it once keeps working.
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
    if (token.length >= 16)
      return { tokens: [token], source: { from: 'file', path, created: false } }
  }
  mkdirSync(dataDir, { recursive: true })
  const token = randomBytes(32).toString('base64url')
  writeFileSync(path, `${token}\n`, { mode: 0o600 })
  // writeFileSync's mode only applies to a new file; make sure of it for a replaced short one.
  chmodSync(path, 0o600)
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
