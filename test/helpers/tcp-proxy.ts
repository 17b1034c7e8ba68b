import net from 'node:net'

/**
 * A real TCP proxy on 127.0.0.1 that a test can cut (refuse new connections and destroy open
 * ones) and restore, to simulate a broker or database outage.
 */
export class TcpProxy {
  readonly connectionsAttempted: number[] = []
  private server: net.Server | null = null
  private readonly sockets = new Set<net.Socket>()
  private cut = false
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

  async start(port = 0): Promise<number> {
    this.server = net.createServer((client) => this.onConnection(client))
    await new Promise<void>((resolve) => this.server!.listen(port, '127.0.0.1', resolve))
    this.port = (this.server.address() as net.AddressInfo).port
    return this.port
  }

  private onConnection(client: net.Socket): void {
    this.connectionsAttempted.push(Date.now())
    if (this.cut) {
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
  cutLink(): void {
    this.cut = true
    for (const s of this.sockets) s.destroy()
    this.sockets.clear()
  }

  restore(): void {
    this.cut = false
  }

  async close(): Promise<void> {
    this.cutLink()
    await new Promise<void>((resolve) =>
      this.server ? this.server.close(() => resolve()) : resolve(),
    )
    this.server = null
  }
}
