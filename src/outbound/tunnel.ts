import http from 'node:http'
import type { Socket } from 'node:net'
import { buildConnector } from 'undici'
import { formatIp, parseHostAddress } from './addresses.js'
import { authority, checkedAddress, type Resolver } from './destination.js'
import type { ProxyTarget } from './proxy-config.js'
import { ProxyError, proxyAnswered, proxyUnreachable } from './proxy-error.js'
import type { OutboundPolicy } from './ssrf.js'

export interface TunnelOptions {
  readonly policy: OutboundPolicy
  readonly resolve: Resolver
  readonly proxy: ProxyTarget
  /** undici's buildConnector options for the TLS inside the tunnel (secureContext, timeout). */
  readonly connect?: buildConnector.BuildOptions
}

/**
 * undici's connector for `https` through the forward proxy. Per connection: the destination is
 * resolved and judged by the policy first (a refused one never reaches the proxy), the proxy is
 * asked to `CONNECT <checked address>:<port>`, and TLS runs over the tunnel with the URL's name
 * as SNI and as the name the certificate must carry. The proxy only ever sees an address that
 * was checked; what the name resolves to from the proxy's side plays no part.
 */
export function tunnelConnector(options: TunnelOptions): buildConnector.connector {
  const tlsOver = buildConnector({ ...options.connect })
  const timeoutMs = options.connect?.timeout ?? 10_000
  return (target, callback) => {
    const port = Number(target.port) || 443
    const literal = parseHostAddress(target.hostname)
    checkedAddress(options.policy, options.resolve, target.hostname)
      .then((ip) => openTunnel(options.proxy, authority(ip, port), timeoutMs))
      .then(
        (socket) => {
          // A literal is checked against the certificate in its normalised form (no brackets).
          const hostname = literal ? formatIp(literal) : target.hostname
          tlsOver({ ...target, hostname, httpSocket: socket }, callback)
        },
        (err: Error) => callback(err, null),
      )
  }
}

/**
 * A socket to `to` (`address:port`) through the proxy: `CONNECT to`, with the proxy's
 * credentials when it has some. Rejects with a ProxyError when the proxy cannot be reached,
 * does not answer within `timeoutMs`, or answers anything but 2xx.
 */
export function openTunnel(proxy: ProxyTarget, to: string, timeoutMs: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    // Node would write `Connection: close` (no agent); a tunnel is meant to stay open.
    const headers: Record<string, string> = { host: to, connection: 'keep-alive' }
    if (proxy.authorization) headers['proxy-authorization'] = proxy.authorization
    const req = http.request({
      host: proxy.host,
      port: proxy.port,
      method: 'CONNECT',
      path: to,
      headers,
      agent: false,
      timeout: timeoutMs,
    })
    const onTimeout = () => {
      const why = `the proxy ${proxy.origin} did not answer CONNECT ${to} within ${timeoutMs} ms`
      req.destroy(new ProxyError(why))
    }
    req.once('timeout', onTimeout)
    req.once('error', (err) => {
      reject(err instanceof ProxyError ? err : proxyUnreachable(proxy.origin, err))
    })
    req.once('connect', (res, socket, head) => {
      req.off('timeout', onTimeout)
      const status = res.statusCode ?? 0
      if (status < 200 || status >= 300) {
        socket.destroy()
        reject(proxyAnswered(proxy.origin, status, res.statusMessage ?? '', `CONNECT ${to}`))
        return
      }
      // The tunnel is the destination's connection now: its idle time is undici's business.
      socket.setTimeout(0)
      if (head.length > 0) socket.unshift(head)
      resolve(socket)
    })
    req.end()
  })
}
