import { inCidr, parseCidr, parseHostAddress, parseIp, type Cidr } from './addresses.js'

export const PROXY_VARIABLE = 'SLUICE_OUTBOUND_PROXY'
export const NO_PROXY_VARIABLE = 'SLUICE_OUTBOUND_NO_PROXY'

/** The forward proxy deliveries go through (SLUICE_OUTBOUND_PROXY). */
export interface ProxyTarget {
  /** Name or address as net.connect takes it (IPv6 without brackets). */
  readonly host: string
  readonly port: number
  /** `http://host:port`, without credentials: what messages and the proxy's pool name. */
  readonly origin: string
  /** `Basic <base64 of user:pass>`, when the URL carried credentials. */
  readonly authorization?: string
}

const SHAPE = 'http://[user:pass@]host:port'

/**
 * `http://[user:pass@]host:port`: plain HTTP to the proxy, the port written out, no path. The
 * value is never echoed in errors: it may hold a password. Throws an Error naming the variable.
 */
export function parseProxyUrl(text: string, variable = PROXY_VARIABLE): ProxyTarget {
  const bad = (why: string) => new Error(`${variable} must be ${SHAPE}: ${why}`)
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(text.trim())) throw bad('the scheme (http://) is missing')
  let url: URL
  try {
    url = new URL(text.trim())
  } catch {
    throw bad('the value does not parse as a URL')
  }
  if (url.protocol === 'https:') {
    throw bad(
      'https:// proxies (TLS to the proxy) are not supported; https destinations are still ' +
        'tunnelled with CONNECT and verified end to end through an http:// proxy',
    )
  }
  if (url.protocol !== 'http:') throw bad(`the scheme is ${url.protocol.slice(0, -1)}`)
  if (url.hostname === '') throw bad('the host is missing')
  // URL drops a default port (`:80`), so whether one was written is read from the text.
  const hostPort = /^http:\/\/(?:[^@/?#]*@)?([^/?#]*)/i.exec(text.trim())?.[1] ?? ''
  if (!/:\d+$/.test(hostPort)) throw bad('the port is missing')
  if (url.pathname !== '/' || url.search !== '' || url.hash !== '') {
    throw bad('a path, query or fragment is not allowed')
  }
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname
  const port = url.port === '' ? 80 : Number(url.port)
  const origin = `http://${url.host}`
  if (url.username === '' && url.password === '') return { host, port, origin }
  let credentials: string
  try {
    credentials = `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`
  } catch {
    throw bad('the user or password has a malformed %-escape')
  }
  const authorization = `Basic ${Buffer.from(credentials).toString('base64')}`
  return { host, port, origin, authorization }
}

/** Destinations that do not go through the proxy (SLUICE_OUTBOUND_NO_PROXY). */
export interface NoProxy {
  /** `*`: every destination goes direct. */
  readonly all: boolean
  /** Exact host names, lower case, without a trailing dot. */
  readonly names: ReadonlySet<string>
  /** `.corp.example`: that domain and every name under it (stored without the dot). */
  readonly domains: readonly string[]
  /** Ranges that destinations written as addresses are matched against. */
  readonly ranges: readonly Cidr[]
}

export const PROXY_EVERYTHING: NoProxy = Object.freeze({
  all: false,
  names: new Set<string>(),
  domains: Object.freeze([]),
  ranges: Object.freeze([]),
})

const LABELS = /^[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*$/

/**
 * Comma-separated entries: `*`, host names, `.domain` (or `*.domain`), addresses and CIDRs.
 * Unset or empty: nothing bypasses the proxy. Throws an Error naming the variable and the entry.
 */
export function parseNoProxy(text: string | undefined, variable = NO_PROXY_VARIABLE): NoProxy {
  const names = new Set<string>()
  const domains: string[] = []
  const ranges: Cidr[] = []
  let all = false
  for (const raw of (text ?? '').split(',')) {
    const entry = raw.trim().toLowerCase()
    if (entry === '') continue
    if (entry === '*') {
      all = true
      continue
    }
    const range = parseCidr(entry) ?? rangeOf(parseIp(entry))
    if (range) {
      ranges.push(range)
      continue
    }
    const domain = /^\*?\./.test(entry)
    const name = trimDot(entry.replace(/^\*?\./, ''))
    if (!LABELS.test(name) || /^[\d.]+$/.test(name)) {
      throw new Error(
        `${variable}: '${raw.trim()}' is not a host name, .domain, address or CIDR` +
          `${/^[^:]+:\d+$/.test(entry) ? ' (ports are not supported)' : ''}; ` +
          `expected comma-separated entries such as receiver.internal, .corp.example, ` +
          `10.0.0.0/8, fd00::/8, or * for every destination`,
      )
    }
    if (domain) domains.push(name)
    else names.add(name)
  }
  return { all, names, domains, ranges }
}

/** Whether a delivery to `hostname` (a URL's host name) goes direct rather than through the proxy. */
export function bypassesProxy(rules: NoProxy, hostname: string): boolean {
  if (rules.all) return true
  const host = trimDot(hostname.toLowerCase())
  const literal = parseHostAddress(host)
  // Addresses match ranges only, names match names only: no DNS before the decision.
  if (literal) return rules.ranges.some((range) => inCidr(literal, range))
  if (rules.names.has(host)) return true
  return rules.domains.some((d) => host === d || host.endsWith(`.${d}`))
}

const trimDot = (name: string) => (name.endsWith('.') ? name.slice(0, -1) : name)

/** `[fd00::1]` as a one-address range (parseCidr takes IPv6 without brackets only). */
function rangeOf(ip: ReturnType<typeof parseIp>): Cidr | null {
  return ip ? { ip, prefix: ip.family === 4 ? 32 : 128 } : null
}
