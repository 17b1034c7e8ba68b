import type { Config } from './config.js'

const HIDDEN = '[redacted]'
/** Variables whose whole value is a secret, whatever else is added to the config later. */
const SECRET_NAME = /TOKEN|SECRET|PASSWORD|PASSPHRASE|CREDENTIAL|PRIVATE|_KEY$/

/**
 * The effective configuration as the start-up log shows it: every variable with its value after
 * defaults, and each source's verification and rate limit, with secrets replaced by
 * `[redacted]`: source secrets, passwords inside URLs (DATABASE_URL, each of AMQP_URL's, ...), and any
 * variable whose name says it holds one (SLUICE_ADMIN_TOKEN).
 */
export function configSummary(config: Config): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const [name, value] of Object.entries(config)) {
    // outboundCa is SLUICE_OUTBOUND_CA_FILE's contents: the path is shown, not the certificates.
    if (name === 'sources' || name === 'outboundCa') continue
    out[name] = SECRET_NAME.test(name)
      ? hide(value)
      : withoutUrlSecrets(value, name === 'SLUICE_OUTBOUND_PROXY')
  }
  out.sources = Object.fromEntries(
    Object.entries(config.sources).map(([name, source]) => {
      const { verify, ...rest } = source
      if (!verify) return [name, rest]
      const secrets = Array.isArray(verify.secret) ? verify.secret.length : 1
      return [name, { ...rest, verify: { ...verify, secret: `${HIDDEN} (${secrets})` } }]
    }),
  )
  return out
}

function hide(value: unknown): unknown {
  if (value === undefined) return undefined
  return Array.isArray(value) ? value.map(() => HIDDEN) : HIDDEN
}

/**
 * Each URL of a comma-separated list of URLs (AMQP_URL naming the nodes of a cluster) without
 * its secrets; any other value as withoutUrlSecret leaves it.
 */
function withoutUrlSecrets(value: unknown, loneUser = false): unknown {
  if (typeof value !== 'string') return value
  const parts = value.split(',')
  if (parts.length > 1 && parts.every((p) => URL_START.test(p))) {
    return parts.map((p) => withoutUrlSecret(p, loneUser)).join(',')
  }
  return withoutUrlSecret(value, loneUser)
}

const URL_START = /^\s*[a-z][a-z0-9+.-]*:\/\//i

/**
 * A URL's credentials (user:password@, ?password=, and with `loneUser` a user without a
 * password: for a proxy that is often a token) replaced; other values as they are. Blanks
 * around it are ignored, as the parsers of the variables ignore them.
 */
function withoutUrlSecret(value: unknown, loneUser = false): unknown {
  if (typeof value !== 'string' || !URL_START.test(value)) return value
  let url: URL
  try {
    url = new URL(value.trim())
  } catch {
    // Unparseable (refused by the config schema anyway): still never show `user:password@`.
    return value.replace(/(:\/\/)[^@/]*@/, '$1redacted@')
  }
  if (url.password) url.password = 'redacted'
  else if (loneUser && url.username) url.username = 'redacted'
  for (const key of [...url.searchParams.keys()]) {
    if (/pass|secret|token|key/i.test(key)) url.searchParams.set(key, 'redacted')
  }
  return url.toString()
}
