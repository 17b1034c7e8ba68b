import net from 'node:net'

/**
 * A TCP proxy on 127.0.0.1 the outage benchmark cuts and restores: cut destroys every open
 * connection and refuses new ones, so the engine sees the broker vanish as in a network
 * failure (same idea as test/helpers/tcp-proxy.ts, which the build does not include).
 */
export class CuttableProxy {
  private server: net.Server | null = null
  private readonly sockets = new Set<net.Socket>()
  private isCut = false
  port = 0

  constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {}

  async start(): Promise<number> {
    this.server = net.createServer((client) => {
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
    })
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r))
    this.port = (this.server.address() as net.AddressInfo).port
    return this.port
  }

  cut(): void {
    this.isCut = true
    for (const s of this.sockets) s.destroy()
    this.sockets.clear()
  }

  restore(): void {
    this.isCut = false
  }

  private closing: Promise<void> | null = null
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.cut()
      await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()))
    })()
    return this.closing
  }
}
