import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { SluiceApiError, sluiceClient, type SluiceClient } from '../client/index.js'
import { envSchema } from '../config.js'
import { FILE_VARIABLES } from '../config-files.js'
import { EngineProcess } from './engine-process.js'
import { post, type PostResult } from './post.js'
import { until } from './until.js'

/** The broker an engine uses; the local queue in its data directory by default. */
export type BrokerOption =
  | { type: 'local' }
  | { type: 'rabbitmq'; url: string; queue: string }
  | { type: 'sqs'; queueUrl: string; dlqUrl?: string; endpoint?: string }

export interface StartEngineOptions {
  /** PostgreSQL to store into. @defaultValue embedded Postgres in the data directory */
  databaseUrl?: string
  /** @defaultValue `{ type: 'local' }` */
  broker?: BrokerOption
  /** Any other configuration (docs/configuration.md); it wins over what the kit sets. */
  env?: Record<string, string>
  /**
   * Whether start and restart() also wait until the database is up (the admin API answers
   * its data routes instead of 503). Turn it off for a test that starts the engine while its
   * database is cut off: a 200 is durable as soon as it listens. @defaultValue true
   */
  waitForDatabase?: boolean
  /** Seconds to wait for the engine to listen, and then for its database. @defaultValue 60 */
  startTimeoutSeconds?: number
}

const CONFIG_VARIABLES = new Set<string>([
  ...Object.keys(envSchema.shape),
  ...FILE_VARIABLES.map((name) => `${name}_FILE`),
])

/** This process's environment without Sluice's configuration, so the engine gets only the test's. */
function baseEnvironment(): NodeJS.ProcessEnv {
  return Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !CONFIG_VARIABLES.has(name)),
  )
}

function brokerEnv(broker: BrokerOption): Record<string, string> {
  switch (broker.type) {
    case 'local':
      return { SLUICE_BROKER: 'local' }
    case 'rabbitmq':
      return { SLUICE_BROKER: 'rabbitmq', AMQP_URL: broker.url, SLUICE_QUEUE: broker.queue }
    case 'sqs':
      return {
        SLUICE_BROKER: 'sqs',
        SQS_QUEUE_URL: broker.queueUrl,
        ...(broker.dlqUrl ? { SQS_DLQ_URL: broker.dlqUrl } : {}),
        ...(broker.endpoint ? { AWS_ENDPOINT_URL_SQS: broker.endpoint } : {}),
      }
  }
}

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

  /** Stop (SIGKILL when a graceful stop fails) and remove the data directory. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      try {
        await this.proc.stop()
      } finally {
        await this.proc.kill9()
        rmSync(this.dataDir, { recursive: true, force: true })
      }
    })()
    return this.closing
  }
}

/**
 * Start an engine for a test; resolves once it listens and (unless `waitForDatabase` is false)
 * its database is up. It listens on 127.0.0.1 (free ports), may deliver to loopback
 * (SLUICE_OUTBOUND_ALLOW=127.0.0.0/8), and ignores Sluice variables of the calling environment:
 * its configuration is the kit's defaults, the options and `env`.
 */
export async function startEngine(options: StartEngineOptions = {}): Promise<TestEngine> {
  const dataDir = mkdtempSync(join(tmpdir(), 'sluice-testing-'))
  const adminToken =
    options.env?.SLUICE_ADMIN_TOKEN?.split(',')[0] ?? randomBytes(24).toString('hex')
  const env: Record<string, string> = {
    HOST: '127.0.0.1',
    PORT: '0',
    SLUICE_ADMIN_PORT: '0',
    SLUICE_DATA_DIR: dataDir,
    SLUICE_ADMIN_TOKEN: adminToken,
    SLUICE_OUTBOUND_ALLOW: '127.0.0.0/8',
    ...brokerEnv(options.broker ?? { type: 'local' }),
    ...(options.databaseUrl ? { DATABASE_URL: options.databaseUrl } : {}),
    ...options.env,
  }
  const engine = new TestEngine(
    new EngineProcess(env, baseEnvironment()),
    dataDir,
    adminToken,
    options,
  )
  try {
    await engine.start()
  } catch (err) {
    await engine.close()
    throw err
  }
  return engine
}
