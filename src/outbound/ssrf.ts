import {
  embeddedIpv4,
  formatIp,
  inCidr,
  parseCidr,
  parseHostAddress,
  specialRange,
  type AddressRange,
  type Cidr,
  type Ip,
} from './addresses.js'

/**
 * Which destinations outbound delivery may reach. Loopback, private, link-local, shared,
 * multicast, reserved and documentation addresses (IPv4 and IPv6, embedded IPv4 judged) are
 * refused unless a range of `allow` contains the address or the IPv4 it embeds.
 */
export interface OutboundPolicy {
  readonly allow: readonly Cidr[]
}

export const ALLOW_VARIABLE = 'SLUICE_OUTBOUND_ALLOW'

/** Nothing special allowed: only public addresses. */
export const PUBLIC_ONLY: OutboundPolicy = Object.freeze({ allow: Object.freeze([]) })

/**
 * `SLUICE_OUTBOUND_ALLOW`: comma-separated CIDRs or single addresses (`10.0.0.0/8, fd00::/8`).
 * Unset or empty allows nothing. Throws an Error naming the variable and the bad entry.
 */
export function parseAllowList(text: string | undefined, variable = ALLOW_VARIABLE): Cidr[] {
  const out: Cidr[] = []
  for (const raw of (text ?? '').split(',')) {
    const entry = raw.trim()
    if (entry === '') continue
    const parsed = parseCidr(entry)
    if (!parsed) {
      throw new Error(
        `${variable}: '${entry}' is not a CIDR; expected comma-separated ranges such as ` +
          `10.0.0.0/8, 192.168.1.20 or fd00::/8`,
      )
    }
    out.push(parsed)
  }
  return out
}

export function policyFromEnv(env: NodeJS.ProcessEnv = process.env): OutboundPolicy {
  return { allow: parseAllowList(env[ALLOW_VARIABLE]) }
}

/** The range that refuses `ip` under `policy`, or null when it may be connected to. */
export function refusedRange(policy: OutboundPolicy, ip: Ip): AddressRange | null {
  const range = specialRange(ip)
  if (range === null) return null
  const v4 = embeddedIpv4(ip)
  const allowed = policy.allow.some((c) => inCidr(ip, c) || (v4 !== null && inCidr(v4, c)))
  return allowed ? null : range
}

/**
 * A destination the policy refuses. Raised by the connector at connection time (so it is what
 * a delivery attempt fails with) and named in creation-time URL checks.
 */
export class SsrfRefusedError extends Error {
  override readonly name = 'SsrfRefusedError'
  constructor(
    /** The URL's host as given. */
    readonly host: string,
    /** The address that was refused (one of those the host resolved to). */
    readonly address: string,
    readonly range: AddressRange,
  ) {
    const via = host === address ? '' : ` (resolved from ${host})`
    super(
      `destination ${address}${via} is ${range}; outbound delivery refuses it unless ` +
        `${ALLOW_VARIABLE} contains it`,
    )
  }
}

export type UrlProblem = 'invalid_url' | 'scheme' | 'credentials' | 'address'
export type UrlCheck =
  | { readonly ok: true; readonly url: URL }
  | { readonly ok: false; readonly problem: UrlProblem; readonly message: string }

/** Scheme and credentials only: what a URL says without any address policy. */
export function checkUrlShape(url: string | URL): UrlCheck {
  let parsed: URL
  try {
    parsed = typeof url === 'string' ? new URL(url) : url
  } catch {
    return { ok: false, problem: 'invalid_url', message: 'the URL does not parse' }
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    const message = `the URL's scheme is ${parsed.protocol.slice(0, -1)}; only http and https`
    return { ok: false, problem: 'scheme', message }
  }
  if (parsed.username !== '' || parsed.password !== '') {
    const message = 'the URL carries credentials; put them in headers instead'
    return { ok: false, problem: 'credentials', message }
  }
  return { ok: true, url: parsed }
}

/**
 * Creation-time check: scheme, credentials, and a literal address (WHATWG URL has already
 * turned `2130706433` or `0x7f.1` into a dotted quad). `localhost` and `*.localhost` are
 * loopback by definition (RFC 6761), so they are judged as 127.0.0.1 and ::1. Other names
 * pass here: what they resolve to is checked at every connection by the outbound agent.
 */
export function checkUrl(url: string | URL, policy: OutboundPolicy): UrlCheck {
  const shape = checkUrlShape(url)
  if (!shape.ok) return shape
  const host = shape.url.hostname
  const literal = parseHostAddress(host)
  const local = host === 'localhost' || host.endsWith('.localhost')
  const candidates = literal ? [literal] : local ? ['127.0.0.1', '::1'].map(parseHostAddress) : []
  for (const ip of candidates) {
    const range = ip && refusedRange(policy, ip)
    if (ip && range) {
      const { message } = new SsrfRefusedError(host, formatIp(ip), range)
      return { ok: false, problem: 'address', message }
    }
  }
  return shape
}
