import {
  createServer,
  request,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type ServerResponse,
} from 'node:http'
import { connect, type Socket } from 'node:net'
import { track, type Listener } from './receivers.js'

/** One request the proxy got: `CONNECT 127.0.0.1:443`, `POST http://127.0.0.1:8080/hook`. */
export interface Asked {
  readonly method: string
  /** The request target as written: an authority for CONNECT, an absolute URL otherwise. */
  readonly target: string
  readonly headers: IncomingHttpHeaders
  /** Which accepted connection (1, 2, ...) it came on: the proof of keep-alive. */
  readonly connection: number
}

export interface ForwardProxy extends Listener {
  readonly asked: Asked[]
  /** `http://[user:pass@]127.0.0.1:port` for SLUICE_OUTBOUND_PROXY. */
  url(credentials?: string): string
}

export interface ForwardProxyOptions {
  /** `user:pass` the proxy requires (Basic); without it, anyone may use it. */
  readonly credentials?: string
  /** Status the proxy answers every CONNECT with instead of opening the tunnel (403, 502, ...). */
  readonly refuseConnect?: number
}

const HOP = new Set(['proxy-authorization', 'proxy-connection', 'connection', 'keep-alive'])

/**
 * A real forward proxy for outbound tests, on 127.0.0.1: absolute-form requests are relayed
 * (one upstream request each) and CONNECT opens a TCP tunnel; it records what it was asked and
 * keeps client connections alive. close() ends every connection, tunnels and upstreams included.
 */
export async function forwardProxy(options: ForwardProxyOptions = {}): Promise<ForwardProxy> {
  const asked: Asked[] = []
  const upstreams = new Set<Socket>()
  const expected = options.credentials
    ? `Basic ${Buffer.from(options.credentials).toString('base64')}`
    : null
  let connections = 0
  const numbers = new WeakMap<Socket, number>()
  const record = (req: IncomingMessage) => {
    asked.push({
      method: req.method ?? '',
      target: req.url ?? '',
      headers: req.headers,
      connection: numbers.get(req.socket) ?? 0,
    })
    return expected === null || req.headers['proxy-authorization'] === expected
  }
  const keep = (s: Socket) => {
    upstreams.add(s)
    s.on('close', () => upstreams.delete(s))
    return s
  }

  const server = createServer({ keepAliveTimeout: 30_000 }, (req, res) => {
    if (!record(req)) {
      req.resume()
      return deny(res)
    }
    const target = new URL(req.url ?? '')
    const up = request(
      {
        host: target.hostname.replace(/^\[(.*)\]$/, '$1'),
        port: target.port,
        path: target.pathname + target.search,
        method: req.method,
        headers: { ...endToEnd(req.headers), connection: 'close' },
        agent: false,
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, endToEnd(answer.headers))
        answer.pipe(res)
      },
    )
    up.on('socket', keep)
    up.on('error', () => res.writeHead(502).end('upstream failed'))
    req.pipe(up)
  })
  server.on('connection', (s: Socket) => numbers.set(s, ++connections))
  server.on('connect', (req: IncomingMessage, client: Socket) => {
    client.on('error', () => {})
    if (!record(req)) {
      return void client.end(
        'HTTP/1.1 407 Proxy Authentication Required\r\n' +
          'Proxy-Authenticate: Basic realm="test"\r\nContent-Length: 0\r\n\r\n',
      )
    }
    if (options.refuseConnect) {
      return void client.end(`HTTP/1.1 ${options.refuseConnect} No\r\nContent-Length: 0\r\n\r\n`)
    }
    const at = /^\[?([^\]]+)\]?:(\d+)$/.exec(req.url ?? '')
    const up = keep(connect(Number(at?.[2]), at?.[1] ?? ''))
    up.on('error', () => client.destroy())
    client.on('close', () => up.destroy())
    up.on('connect', () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n')
      up.pipe(client).pipe(up)
    })
  })
  const listener = await track(server, '127.0.0.1')
  return {
    ...listener,
    asked,
    url: (credentials) =>
      `http://${credentials ? `${credentials}@` : ''}127.0.0.1:${listener.port}`,
    close: async () => {
      for (const s of upstreams) s.destroy()
      await listener.close()
    },
  }
}

function deny(res: ServerResponse): void {
  res.writeHead(407, { 'proxy-authenticate': 'Basic realm="test"' }).end('credentials needed')
}

/** The headers a proxy passes on: hop-by-hop ones are between it and its peers. */
function endToEnd(headers: IncomingHttpHeaders): IncomingHttpHeaders {
  return Object.fromEntries(Object.entries(headers).filter(([name]) => !HOP.has(name)))
}
