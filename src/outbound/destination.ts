import { lookup as dnsLookup, type LookupAddress } from 'node:dns'
import { formatIp, parseHostAddress, parseIp, type Ip } from './addresses.js'
import { refusedRange, SsrfRefusedError, type OutboundPolicy } from './ssrf.js'

/** Every address of a host name, as `dns.lookup(host, { all: true })` answers. */
export type Resolver = (host: string) => Promise<readonly LookupAddress[]>

export const systemResolver: Resolver = (host) =>
  new Promise((resolve, reject) => {
    dnsLookup(host, { all: true }, (err, addresses) => (err ? reject(err) : resolve(addresses)))
  })

/**
 * The addresses of a resolver's answer for `hostname`, every one judged by the policy. Throws
 * SsrfRefusedError when ANY of them is refused: a name answering both a public and an internal
 * address is a rebinding trick or a misconfiguration, and which address wins would otherwise
 * decide whether delivery works.
 */
export function checkAnswer(
  policy: OutboundPolicy,
  hostname: string,
  found: readonly LookupAddress[],
): Ip[] {
  return found.map(({ address }) => {
    const ip = parseIp(address)
    if (!ip) throw new Error(`resolver answered a non-address: ${address}`)
    const range = refusedRange(policy, ip)
    if (range) throw new SsrfRefusedError(hostname, formatIp(ip), range)
    return ip
  })
}

export function notFound(hostname: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), {
    code: 'ENOTFOUND',
    syscall: 'getaddrinfo',
    hostname,
  })
}

/**
 * The one address a connection to `host` (a URL's host name: a name, or an address in any form
 * WHATWG URL and inet_aton accept, IPv6 with or without brackets) may go to: the literal, or the
 * first address the name resolves to, after the policy judged every one. Used where Sluice names
 * the address to someone else (a forward proxy) instead of connecting to it itself.
 */
export async function checkedAddress(
  policy: OutboundPolicy,
  resolve: Resolver,
  host: string,
): Promise<Ip> {
  const literal = parseHostAddress(host)
  if (literal) {
    const range = refusedRange(policy, literal)
    if (range) throw new SsrfRefusedError(host, formatIp(literal), range)
    return literal
  }
  const [first] = checkAnswer(policy, host, await resolve(host))
  if (!first) throw notFound(host)
  return first
}

/** `host:port` as a request line or a Host header writes it: IPv6 in brackets. */
export function authority(ip: Ip, port: number): string {
  const address = formatIp(ip)
  return `${ip.family === 6 ? `[${address}]` : address}:${port}`
}
