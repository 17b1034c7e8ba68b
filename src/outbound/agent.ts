import { lookup as dnsLookup, type LookupAddress } from 'node:dns'
import type { LookupFunction } from 'node:net'
import { Agent, buildConnector } from 'undici'
import { formatIp, parseHostAddress, parseIp } from './addresses.js'
import { refusedRange, SsrfRefusedError, type OutboundPolicy } from './ssrf.js'

/** Every address of a host name, as `dns.lookup(host, { all: true })` answers. */
export type Resolver = (host: string) => Promise<readonly LookupAddress[]>

export const systemResolver: Resolver = (host) =>
  new Promise((resolve, reject) => {
    dnsLookup(host, { all: true }, (err, addresses) => (err ? reject(err) : resolve(addresses)))
  })

export interface OutboundAgentOptions {
  readonly policy: OutboundPolicy
  /**
   * How host names are resolved; tests answer chosen addresses through it.
   * @defaultValue systemResolver (getaddrinfo, /etc/hosts included)
   */
  readonly resolve?: Resolver
  /** Passed to undici's buildConnector (TLS `ca`, `timeout`, ...); `lookup` is ours. */
  readonly connect?: buildConnector.BuildOptions
  /** Passed to the undici Agent (keep-alive, pipelining, ...); `connect` is ours. */
  readonly agent?: Omit<Agent.Options, 'connect'>
}

/**
 * A net/tls `lookup` that resolves every address of the host, refuses the connection when ANY of
 * them is refused, and otherwise hands net exactly the checked addresses: the socket connects to
 * what was checked, so a DNS answer that changes between check and connect (rebinding) has
 * nothing to slip through. Refusing on any (instead of connecting to the allowed ones) because
 * a name answering both a public and an internal address is a rebinding trick or a
 * misconfiguration, and which address wins would otherwise decide whether delivery works.
 */
export function guardedLookup(policy: OutboundPolicy, resolve: Resolver): LookupFunction {
  return (hostname, options, callback) => {
    resolve(hostname).then(
      (found) => {
        const checked: LookupAddress[] = []
        for (const { address } of found) {
          const ip = parseIp(address)
          if (!ip) return callback(new Error(`resolver answered a non-address: ${address}`), '')
          const range = refusedRange(policy, ip)
          if (range) return callback(new SsrfRefusedError(hostname, formatIp(ip), range), '')
          if (options.family === undefined || options.family === 0 || options.family === ip.family)
            checked.push({ address: formatIp(ip), family: ip.family })
        }
        const first = checked[0]
        if (!first) return callback(notFound(hostname), '')
        if (options.all) callback(null, checked)
        else callback(null, first.address, first.family)
      },
      (err: NodeJS.ErrnoException) => callback(err, ''),
    )
  }
}

function notFound(hostname: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), {
    code: 'ENOTFOUND',
    syscall: 'getaddrinfo',
    hostname,
  })
}

/**
 * undici's connector with the policy in front. A literal address (net skips `lookup` for one)
 * is judged here and connected to in its normalised form; a name goes through guardedLookup.
 */
export function guardedConnector(options: OutboundAgentOptions): buildConnector.connector {
  const base = buildConnector({
    ...options.connect,
    lookup: guardedLookup(options.policy, options.resolve ?? systemResolver),
  })
  return (target, callback) => {
    const literal = parseHostAddress(target.hostname)
    if (!literal) return base(target, callback)
    const address = formatIp(literal)
    const range = refusedRange(options.policy, literal)
    if (range) return callback(new SsrfRefusedError(target.hostname, address, range), null)
    base({ ...target, hostname: address }, callback)
  }
}

/**
 * The undici dispatcher for outbound delivery: every connection it opens is checked by the
 * policy. Redirects are never followed (undici follows none without its redirect interceptor).
 */
export function createOutboundAgent(options: OutboundAgentOptions): Agent {
  return new Agent({ ...options.agent, connect: guardedConnector(options) })
}
