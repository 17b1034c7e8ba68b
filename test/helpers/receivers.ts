import { createServer as createHttpServer, type RequestListener } from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import { createServer as createTcpServer, type Server, type Socket } from 'node:net'

/**
 * Real listeners for outbound tests: each counts the connections it accepted (the proof that a
 * refused destination was never connected to) and close() ends every socket it still holds,
 * hanging ones included, so no test waits on a receiver it made hostile.
 */
export interface Listener {
  readonly host: string
  readonly port: number
  /** `http://host:port` with IPv6 in brackets. */
  readonly origin: string
  /** Connections accepted so far. */
  accepted(): number
  /** Resolves when every accepted socket has closed (either side). */
  allClosed(): Promise<void>
  close(): Promise<void>
}

/** Listens on `host` (a free port) and counts and ends `server`'s connections (for other helpers). */
export function track(server: Server, host: string): Promise<Listener> {
  const sockets = new Set<Socket>()
  let accepted = 0
  let idle: (() => void)[] = []
  server.on('connection', (socket: Socket) => {
    accepted++
    sockets.add(socket)
    socket.on('error', () => {})
    socket.on('close', () => {
      sockets.delete(socket)
      if (sockets.size === 0) for (const wake of idle.splice(0)) wake()
    })
  })
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, host, () => {
      const address = server.address()
      if (address === null || typeof address === 'string') return reject(new Error('not TCP'))
      const port = address.port
      const origin = `http://${host.includes(':') ? `[${host}]` : host}:${port}`
      resolve({
        host,
        port,
        origin,
        accepted: () => accepted,
        allClosed: () =>
          sockets.size === 0 ? Promise.resolve() : new Promise<void>((r) => idle.push(r)),
        close: () =>
          new Promise<void>((r) => {
            for (const s of sockets) s.destroy()
            idle = []
            server.close(() => r())
          }),
      })
    })
  })
}

/** An HTTP receiver on `host` (default 127.0.0.1), on a free port. */
export function httpReceiver(handler: RequestListener, host = '127.0.0.1'): Promise<Listener> {
  // Keep-alive off the server side: each test sees its own connections, not a pooled one.
  const server = createHttpServer({ keepAliveTimeout: 1 }, handler)
  return track(server, host)
}

/** An HTTPS receiver with the given certificate and key (PEM), without keep-alive either. */
export function httpsReceiver(
  handler: RequestListener,
  tls: { cert: string; key: string },
  host = '127.0.0.1',
): Promise<Listener> {
  return track(createHttpsServer({ ...tls, keepAliveTimeout: 1 }, handler), host)
}

/** A raw TCP receiver: `onSocket` decides what (if anything) the peer ever hears. */
export function tcpReceiver(onSocket: (s: Socket) => void, host = '127.0.0.1'): Promise<Listener> {
  return track(createTcpServer(onSocket), host)
}

/** Whether this machine can listen on `host` (127.0.0.2 and ::1 are not everywhere). */
export async function canListen(host: string): Promise<boolean> {
  const server = createTcpServer()
  return new Promise((resolve) => {
    server.once('error', () => resolve(false))
    server.listen(0, host, () => server.close(() => resolve(true)))
  })
}
