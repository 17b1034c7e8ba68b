import pg from 'pg'
import type { Logger } from '../log.js'
import { backoffDelay, sleep } from '../util/backoff.js'

/**
 * LISTEN on a dedicated connection (a pooled one would lose its LISTEN when released). The
 * handlers are latency hints: callers poll anyway, so a lost connection only delays things
 * until it is back, and after every (re)connect each handler runs once for what may have
 * been missed meanwhile.
 */
export class Notifier {
  private client: pg.Client | null = null
  private readonly stop = new AbortController()
  private loop: Promise<void> | null = null
  private listening = false

  constructor(
    private readonly connectionString: string,
    private readonly handlers: Readonly<Record<string, () => void>>,
    private readonly logger?: Logger,
  ) {}

  /** LISTENing right now (false while it reconnects: the callers' polls carry on alone). */
  get connected(): boolean {
    return this.listening
  }

  /** Connects in the background, and again after every loss, until close(). */
  start(): void {
    this.loop ??= this.run()
  }

  close(): Promise<void> {
    this.stop.abort()
    void this.client?.end().catch(() => {})
    return this.loop ?? Promise.resolve()
  }

  private async run(): Promise<void> {
    for (let failures = 0; !this.stop.signal.aborted;) {
      const client = new pg.Client({ connectionString: this.connectionString })
      const lost = new Promise<Error>((resolve) => {
        client.on('error', resolve)
        client.on('end', () => resolve(new Error('the connection ended')))
      })
      client.on('notification', (n) => this.handlers[n.channel]?.())
      this.client = client
      try {
        await client.connect()
        for (const channel of Object.keys(this.handlers)) {
          // Channel names are ours (identifiers), never input.
          await client.query(`LISTEN ${channel}`)
        }
        failures = 0
        this.listening = true
        for (const handler of Object.values(this.handlers)) handler()
        const err = await Promise.race([lost, abortOf(this.stop.signal)])
        this.listening = false
        if (err) this.logger?.warn({ err }, 'notification connection lost; reconnecting')
      } catch (err) {
        if (!this.stop.signal.aborted) this.logger?.warn({ err }, 'cannot LISTEN; retrying')
      } finally {
        this.listening = false
        await client.end().catch(() => {})
      }
      // Capped low: after a Postgres restart, wake-ups come back within seconds of the database.
      if (!this.stop.signal.aborted)
        await sleep(backoffDelay(failures++, 500, 5_000), this.stop.signal)
    }
  }
}

function abortOf(signal: AbortSignal): Promise<null> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve(null)
    signal.addEventListener('abort', () => resolve(null), { once: true })
  })
}
