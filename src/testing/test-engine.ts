import { rmSync } from 'node:fs'
import { SluiceApiError, sluiceClient, type SluiceClient } from '../client/index.js'
import type { StartEngineOptions } from './engine-env.js'
import type { EngineProcess } from './engine-process.js'
import { post, type PostResult } from './post.js'
import { until } from './until.js'

/** A teardown waits this long for a graceful stop, then kills: a test must not hang on it. */
const CLOSE_GRACE_MS = 15_000

/**
 * An engine (the installed `sluice start`) in a child process, on a data directory of its own.
 * Its ports are free ones and change when it starts again: read `url` and `adminUrl` after
 * restart().
 */
export class TestEngine {
  /** Bearer token of the admin API (SLUICE_ADMIN_TOKEN). */
  readonly adminToken: string
  private clientFor: { port: number; client: SluiceClient } | null = null
  private closing: Promise<void> | null = null

  constructor(
    /** The child process itself: its ChildProcess (pid) and the ports it listens on. */
    readonly proc: EngineProcess,
    /** A temporary directory, removed by close(). */
    readonly dataDir: string,
    adminToken: string,
    private readonly startOptions: Pick<
      StartEngineOptions,
      'waitForDatabase' | 'startTimeoutSeconds'
    > = {},
  ) {
    this.adminToken = adminToken
  }

  /** Start the child; with waitForDatabase (the default), wait for its database as well. */
  async start(): Promise<void> {
    const timeoutMs = (this.startOptions.startTimeoutSeconds ?? 60) * 1000
    await this.proc.start(timeoutMs)
    if (this.startOptions.waitForDatabase !== false) await this.databaseUp(timeoutMs)
  }

  /** Resolves once the admin API answers from the database (no 503 pipeline_unavailable). */
  async databaseUp(timeoutMs = 60000): Promise<void> {
    let last = 'no answer yet'
    await until(
      `the engine's database is up (its admin API answers ${this.adminUrl}/v1/events)`,
      async () => {
        try {
          await this.client.listEvents({ limit: '1' })
          return true
        } catch (err) {
          if (!(err instanceof SluiceApiError) || (err.status !== null && err.status < 500)) {
            throw err
          }
          last = err.message
          return false
        }
      },
      timeoutMs,
      100,
      () => last,
    )
  }

  /** The default source's webhook route. */
  get url(): string {
    return this.proc.url
  }

  /** Origin of the admin API (routes, /healthz, /readyz, /metrics). */
  get adminUrl(): string {
    return `http://127.0.0.1:${this.proc.adminPort}`
  }

  /** The typed admin API client (`sluice/client`) of the running engine. */
  get client(): SluiceClient {
    const port = this.proc.adminPort
    if (this.clientFor?.port !== port) {
      this.clientFor = {
        port,
        client: sluiceClient({ baseUrl: this.adminUrl, token: this.adminToken }),
      }
    }
    return this.clientFor.client
  }

  /** POST `body` (an object is sent as JSON) to the webhook route, or to `path`'s. */
  post(
    body: Buffer | string | object,
    headers: Record<string, string> = {},
    path = '/webhook',
  ): Promise<PostResult> {
    const bytes = typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body)
    return post(`http://127.0.0.1:${this.proc.port}${path}`, bytes, headers)
  }

  /** The engine's last lines of output, for a failed assertion to show why. */
  logTail(): string {
    return this.proc.logTail()
  }

  /** SIGKILL the engine: no shutdown at all. Resolves with the signal (null if none ran). */
  kill9(): Promise<NodeJS.Signals | null> {
    return this.proc.kill9()
  }

  /**
   * Start again on the same data directory, after kill9() or stop() (a graceful stop first if
   * it runs); like the first start, it waits for the database unless told not to.
   */
  async restart(): Promise<void> {
    if (this.proc.running) await this.proc.stop()
    await this.start()
  }

  /** Graceful stop (SIGTERM); resolves with the exit code (0 for a clean stop). */
  stop(): Promise<number | null> {
    return this.proc.stop()
  }

  /**
   * Stop (SIGKILL when a graceful stop fails or takes over CLOSE_GRACE_MS) and remove the data
   * directory. Idempotent.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      let grace: NodeJS.Timeout | undefined
      try {
        await Promise.race([
          this.proc.stop(),
          new Promise((resolve) => (grace = setTimeout(resolve, CLOSE_GRACE_MS))),
        ])
      } finally {
        clearTimeout(grace)
        await this.proc.kill9()
        rmSync(this.dataDir, { recursive: true, force: true })
      }
    })()
    return this.closing
  }
}
