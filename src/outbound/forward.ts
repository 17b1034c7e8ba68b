import type { IncomingHttpHeaders } from 'node:http'
import type { Duplex } from 'node:stream'
import type { Dispatcher } from 'undici'
import { authority, checkedAddress, type Resolver } from './destination.js'
import type { ProxyTarget } from './proxy-config.js'
import { proxyAnswered } from './proxy-error.js'
import type { OutboundPolicy } from './ssrf.js'

type Handler = Dispatcher.DispatchHandler
type Controller = Dispatcher.DispatchController

export interface ForwardOptions {
  readonly policy: OutboundPolicy
  readonly resolve: Resolver
  readonly proxy: ProxyTarget
}

/**
 * An interceptor for a pool of connections to the forward proxy, for `http` destinations: each
 * request's host is resolved and judged by the policy before anything goes to the proxy, then
 * sent in absolute-form naming the checked address (`POST http://<address>:<port>/path`) with the
 * URL's `Host`. Checked per request, not per connection: connections to the proxy are shared by
 * every destination, and the address is in the request line.
 */
export function forwardThrough(options: ForwardOptions): Dispatcher.DispatcherComposeInterceptor {
  return (dispatch) => (opts, handler) => {
    const origin = new URL(String(opts.origin))
    const fail = (err: Error) => handler.onResponseError?.(new Settled(err), err)
    // The attempt's deadline covers the resolution too, which undici does not see: an attempt
    // that ended meanwhile (its handler says so, src/outbound/exchange.ts) sends nothing.
    checkedAddress(options.policy, options.resolve, origin.hostname).then((ip) => {
      if ((handler as { ended?: unknown }).ended === true) return
      const path = `http://${authority(ip, Number(origin.port) || 80)}${opts.path}`
      const headers = forwardedHeaders(opts.headers, origin.host, options.proxy)
      const sent = { ...opts, origin: options.proxy.origin, path, headers }
      dispatch(sent, new ProxyAnswers(handler, options.proxy.origin, `${opts.method} ${path}`))
    }, fail)
    return true
  }
}

/**
 * The request's headers as a flat list, with the URL's Host and the proxy's credentials. Any
 * `proxy-*` header given is dropped: the proxy's credentials are the operator's, not a
 * subscription's (the admin API refuses such names; this holds whatever the caller).
 */
function forwardedHeaders(
  given: Dispatcher.DispatchOptions['headers'],
  host: string,
  proxy: ProxyTarget,
): string[] {
  const out: string[] = []
  const add = (name: string, value: unknown) => {
    const lower = name.toLowerCase()
    if (lower === 'host' || lower.startsWith('proxy-') || value === undefined) return
    for (const v of Array.isArray(value) ? (value as unknown[]) : [value]) out.push(name, String(v))
  }
  if (Array.isArray(given)) {
    for (let i = 0; i + 1 < given.length; i += 2) add(String(given[i]), given[i + 1])
  } else if (given && Symbol.iterator in given) {
    for (const [name, value] of given as Iterable<[string, unknown]>) add(name, value)
  } else if (given) {
    for (const [name, value] of Object.entries(given)) add(name, value)
  }
  out.push('host', host)
  if (proxy.authorization) out.push('proxy-authorization', proxy.authorization)
  return out
}

/**
 * Passes the answer through, except a 407: only a proxy sends one (RFC 9110 15.5.8), so the
 * attempt fails as the proxy's, not as the receiver's 4xx. Any other status the proxy makes
 * itself (a 502 when it cannot reach the destination) cannot be told from the receiver's.
 */
class ProxyAnswers implements Handler {
  constructor(
    private readonly inner: Handler,
    private readonly proxy: string,
    private readonly what: string,
  ) {}

  onRequestStart(controller: Controller, context: unknown): void {
    this.inner.onRequestStart?.(controller, context)
  }

  onRequestUpgrade(c: Controller, status: number, headers: IncomingHttpHeaders, socket: Duplex) {
    this.inner.onRequestUpgrade?.(c, status, headers, socket)
  }

  onResponseStart(c: Controller, status: number, headers: IncomingHttpHeaders, text?: string) {
    if (status === 407) return c.abort(proxyAnswered(this.proxy, status, text ?? '', this.what))
    this.inner.onResponseStart?.(c, status, headers, text)
  }

  onResponseData(controller: Controller, chunk: Buffer): void {
    this.inner.onResponseData?.(controller, chunk)
  }

  onResponseEnd(controller: Controller, trailers: IncomingHttpHeaders): void {
    this.inner.onResponseEnd?.(controller, trailers)
  }

  onResponseError(controller: Controller, error: Error): void {
    this.inner.onResponseError?.(controller, error)
  }
}

/** The controller of a request that ended before it was dispatched. */
class Settled implements Controller {
  readonly aborted = true
  readonly paused = false
  constructor(readonly reason: Error) {}
  abort(): void {}
  pause(): void {}
  resume(): void {}
}
