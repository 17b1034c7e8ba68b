import type { LookupAddress } from 'node:dns'
import type { LookupFunction } from 'node:net'
import { Agent, buildConnector } from 'undici'
import { formatIp, parseHostAddress } from './addresses.js'
import { checkAnswer, notFound, systemResolver, type Resolver } from './destination.js'
import { refusedRange, SsrfRefusedError, type OutboundPolicy } from './ssrf.js'

export { systemResolver, type Resolver } from './destination.js'

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
 * nothing to slip through (checkAnswer says why any refused address refuses the name).
 */
export function guardedLookup(policy: OutboundPolicy, resolve: Resolver): LookupFunction {
  return (hostname, options, callback) => {
    resolve(hostname).then(
      (found) => {
        let checked: LookupAddress[]
        try {
          checked = checkAnswer(policy, hostname, found)
            .filter((ip) => !options.family || options.family === ip.family)
            .map((ip) => ({ address: formatIp(ip), family: ip.family }))
        } catch (err) {
          return callback(err as Error, '')
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
