import { Agent, buildConnector, Dispatcher, Pool } from 'undici'
import { createOutboundAgent, type OutboundAgentOptions } from './agent.js'
import { systemResolver } from './destination.js'
import { forwardThrough } from './forward.js'
import { bypassesProxy, PROXY_EVERYTHING, type NoProxy, type ProxyTarget } from './proxy-config.js'
import { proxyUnreachable } from './proxy-error.js'
import { trustAlso } from './trust.js'
import { tunnelConnector } from './tunnel.js'

/** How deliveries leave: SLUICE_OUTBOUND_PROXY, SLUICE_OUTBOUND_NO_PROXY, SLUICE_OUTBOUND_CA_FILE. */
export interface EgressConfig {
  /** The forward proxy; none (the default): every delivery connects directly. */
  readonly proxy?: ProxyTarget | null
  /** Destinations that connect directly although there is a proxy. @defaultValue none */
  readonly noProxy?: NoProxy
  /** PEM certificates trusted for https deliveries besides the default roots. */
  readonly ca?: string
}

export type EgressOptions = OutboundAgentOptions & EgressConfig

/**
 * The undici dispatcher that outbound attempts go through. Without a proxy it is the guarded
 * agent (createOutboundAgent); with one, an Egress. Either way every destination is judged by
 * the policy before anything is sent towards it.
 */
export function createEgress(options: EgressOptions): Dispatcher {
  const connect: buildConnector.BuildOptions | undefined = options.ca
    ? { ...options.connect, secureContext: trustAlso(options.ca) }
    : options.connect
  const agentOptions = { ...options, ...(connect ? { connect } : {}) }
  const direct = createOutboundAgent(agentOptions)
  const proxy = options.proxy
  return proxy ? new Egress(direct, { ...agentOptions, proxy }) : direct
}

/**
 * Routes each request: a destination SLUICE_OUTBOUND_NO_PROXY matches goes to the guarded
 * agent; `https` goes through CONNECT tunnels (one pool per destination, connections kept
 * alive), `http` as absolute-form requests over connections to the proxy that every
 * destination shares. The decision reads the URL only (no DNS before it).
 */
class Egress extends Dispatcher {
  private readonly noProxy: NoProxy
  private readonly tunnel: Agent
  private readonly pool: Pool
  private readonly forward: Dispatcher

  constructor(
    private readonly direct: Agent,
    options: OutboundAgentOptions & { readonly proxy: ProxyTarget; readonly noProxy?: NoProxy },
  ) {
    super()
    const { policy, proxy } = options
    const resolve = options.resolve ?? systemResolver
    this.noProxy = options.noProxy ?? PROXY_EVERYTHING
    const connect = options.connect ?? {}
    this.tunnel = new Agent({
      ...options.agent,
      connect: tunnelConnector({ policy, resolve, proxy, connect }),
    })
    const toProxy = buildConnector(
      connect.timeout === undefined ? {} : { timeout: connect.timeout },
    )
    this.pool = new Pool(proxy.origin, {
      connect: (target, callback) =>
        toProxy(target, (...[err, socket]) =>
          err ? callback(proxyUnreachable(proxy.origin, err), null) : callback(null, socket),
        ),
    })
    this.forward = this.pool.compose(forwardThrough({ policy, resolve, proxy }))
  }

  override dispatch(opts: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler) {
    const { protocol, hostname } = new URL(String(opts.origin))
    if (bypassesProxy(this.noProxy, hostname)) return this.direct.dispatch(opts, handler)
    return (protocol === 'https:' ? this.tunnel : this.forward).dispatch(opts, handler)
  }

  override close(): Promise<void>
  override close(callback: () => void): void
  override close(callback?: () => void): Promise<void> | void {
    const done = this.all((d) => d.close())
    if (!callback) return done
    void done.then(callback)
  }

  override destroy(): Promise<void>
  override destroy(err: Error | null): Promise<void>
  override destroy(callback: () => void): void
  override destroy(err: Error | null, callback: () => void): void
  override destroy(first?: Error | null | (() => void), second?: () => void): Promise<void> | void {
    const err = typeof first === 'function' ? null : (first ?? null)
    const callback = typeof first === 'function' ? first : second
    const done = this.all((d) => d.destroy(err))
    if (!callback) return done
    void done.then(callback)
  }

  /** `step` on each part; every part gets it even when another's fails. */
  private async all(step: (d: Dispatcher) => Promise<void>): Promise<void> {
    const parts = [this.direct, this.tunnel, this.pool]
    const results = await Promise.allSettled(parts.map((d) => step(d)))
    const failed = results.find((r) => r.status === 'rejected')
    if (failed) throw failed.reason
  }
}
