import net from 'node:net'

/** Where a fault proxy forwards to. */
export interface ProxyTarget {
  /** @defaultValue '127.0.0.1' */
  host?: string
  port: number
}

/**
 * A real TCP proxy on 127.0.0.1 that a test puts in front of a broker or a database and cuts
 * (open connections destroyed, new ones refused) and restores, to simulate an outage the engine
 * sees as a network failure.
 */
export class FaultProxy {
  /** When each connection was attempted (ms), refused ones included. */
  readonly connectionsAttempted: number[] = []
  private server: net.Server | null = null
  private readonly sockets = new Set<net.Socket>()
  private isCut = false
  port = 0

  constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {}

  /** Connection attempts seen so far, including refused ones while cut. */
  get attempts(): number {
    return this.connectionsAttempted.length
  }

  /** Client connections open through the proxy now. */
  get open(): number {
    return this.sockets.size / 2
  }

  /** Listen on `port` (a free one by default); resolves with the port. */
  async start(port = 0): Promise<number> {
    const server = net.createServer((client) => this.onConnection(client))
    this.server = server
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(port, '127.0.0.1', resolve)
    })
    this.port = (server.address() as net.AddressInfo).port
    return this.port
  }

  private onConnection(client: net.Socket): void {
    this.connectionsAttempted.push(Date.now())
    if (this.isCut) {
      client.destroy()
      return
    }
    const upstream = net.connect(this.targetPort, this.targetHost)
    this.sockets.add(client).add(upstream)
    const drop = () => {
      client.destroy()
      upstream.destroy()
      this.sockets.delete(client)
      this.sockets.delete(upstream)
    }
    client.on('error', drop).on('close', drop)
    upstream.on('error', drop).on('close', drop)
    client.pipe(upstream).pipe(client)
  }

  /** Destroy every open connection and refuse new ones until restore(). */
  cut(): void {
    this.isCut = true
    for (const s of this.sockets) s.destroy()
    this.sockets.clear()
  }

  /** Accept and forward connections again. */
  restore(): void {
    this.isCut = false
  }

  /** Cut and stop listening. */
  async close(): Promise<void> {
    this.cut()
    const server = this.server
    this.server = null
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()))
  }
}

/**
 * A started fault proxy in front of `target` (RabbitMQ's 5672, Postgres's 5432, ...): point
 * the engine at `127.0.0.1:<proxy.port>` instead of the target.
 */
export async function faultProxy(options: { target: ProxyTarget; port?: number }) {
  const { host = '127.0.0.1', port } = options.target
  if (!Number.isInteger(port) || port <= 0 || port > 65535) {
    throw new TypeError('options.target.port must be a TCP port (1-65535)')
  }
  const proxy = new FaultProxy(host, port)
  await proxy.start(options.port ?? 0)
  return proxy
}
