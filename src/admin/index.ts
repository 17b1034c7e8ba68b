import { hostname } from 'node:os'
import type { Component } from '../component.js'
import type { Logger } from '../log.js'
import type { ReadinessCheck } from '../server/index.js'
import { onceAsync, runAll } from '../util/once.js'
import { packageVersion } from '../version.js'
import { BearerAuth, loadAdminTokens } from './auth.js'
import { deliveriesStatus } from './delivery-status.js'
import type { AdminData, PipelineCounts } from '../model/admin-data.js'
import type { OutboundPolicy } from '../outbound/ssrf.js'
import { openApiDocument } from '../api/openapi.js'
import { RateHistory, type Totals } from './rates.js'
import { adminRoutes } from './routes.js'
import { AdminServer } from './server.js'

export interface AdminListenerOptions {
  host: string
  port: number
  /** SLUICE_ADMIN_TOKEN's tokens; absent = the token file in dataDir. */
  tokens: string[] | undefined
  dataDir: string
  data: AdminData
  /** What /readyz shows. */
  readiness(): Promise<{ status: string; checks: Record<string, ReadinessCheck> }>
  /** Events committed to the journal since start. */
  received(): number
  /** The operator page, when built. */
  page: (() => string) | null
  /** SLUICE_OUTBOUND_ALLOW as a policy: subscriptions to refused destinations get 400. */
  outbound: OutboundPolicy
  logger: Logger
}

/**
 * The operator's side of a node: the admin API and page on their own listener, with the rate
 * history behind GET /v1/status. See docs/admin-api.md.
 */
export class AdminListener implements Component {
  private server: AdminServer | null = null
  private readonly rates: RateHistory
  private readonly startedAt = new Date()

  constructor(private readonly o: AdminListenerOptions) {
    this.rates = new RateHistory(() => this.totals())
  }

  get port(): number {
    return this.server?.port ?? 0
  }

  async start(): Promise<void> {
    const { tokens, source } = loadAdminTokens(this.o.tokens, this.o.dataDir)
    const routes = adminRoutes(
      {
        data: this.o.data,
        status: () => this.status(),
        page: this.o.page,
        outbound: this.o.outbound,
      },
      () => openApiDocument,
    )
    this.server = new AdminServer({
      host: this.o.host,
      port: this.o.port,
      auth: new BearerAuth(tokens),
      routes,
      logger: this.o.logger,
    })
    await this.server.start()
    await this.rates.start()
    this.o.logger.info(
      {
        url: `http://${this.o.host.includes(':') ? `[${this.o.host}]` : this.o.host}:${this.port}/`,
        host: this.o.host,
        port: this.port,
        ...(source.from === 'file'
          ? { tokenFile: source.path, tokenCreated: source.created }
          : { tokens: source.count, tokenFrom: 'SLUICE_ADMIN_TOKEN' }),
      },
      'admin listening',
    )
  }

  close = onceAsync(() =>
    runAll([
      ['admin rates', () => this.rates.close()],
      ['admin server', () => this.server?.close()],
    ]),
  )

  private pipelineSeen: Counters = { stored: 0, failed: 0, delivered: 0, failedAttempts: 0 }
  private pipelineBase: Counters = { stored: 0, failed: 0, delivered: 0, failedAttempts: 0 }
  /** The outbound backlog of the last counts read; null when they could not be read. */
  private backlog: PipelineCounts['backlog'] = null

  /**
   * Totals since start. The pipeline's and the dispatcher's counters restart with their
   * threads: a count that went down was restarted, so what it had reached is kept as a base.
   */
  private async totals(): Promise<Totals> {
    const c = await this.o.data.counts().catch((err: unknown) => {
      this.backlog = null
      throw err
    })
    this.backlog = c.backlog
    for (const k of COUNTERS) {
      if (c[k] < this.pipelineSeen[k]) this.pipelineBase[k] += this.pipelineSeen[k]
    }
    this.pipelineSeen = c
    return {
      received: this.o.received(),
      stored: this.pipelineBase.stored + c.stored,
      failed: this.pipelineBase.failed + c.failed,
      delivered: this.pipelineBase.delivered + c.delivered,
      failedAttempts: this.pipelineBase.failedAttempts + c.failedAttempts,
    }
  }

  private async status() {
    const [report, deadLetters, totals] = await Promise.all([
      this.o.readiness(),
      this.o.data.countDeadLetters().catch(() => null),
      // Now, not the last second's sample: a script polls /v1/status right after it posted.
      this.totals().catch(() => this.rates.totals()),
    ])
    const r = this.rates.rates(60)
    return {
      status: report.status,
      version: packageVersion(),
      node: {
        hostname: hostname(),
        pid: process.pid,
        startedAt: this.startedAt.toISOString(),
        uptimeSeconds: Math.round((Date.now() - this.startedAt.getTime()) / 1000),
      },
      checks: report.checks,
      rates: {
        windowSeconds: 60,
        receivedPerSecond: r.received,
        storedPerSecond: r.stored,
        deliveredPerSecond: r.delivered,
        failedPerSecond: r.failed,
      },
      totals,
      history: { intervalSeconds: 5, points: this.rates.history(5) },
      deadLetters,
      deliveries: deliveriesStatus(this.backlog, r),
    }
  }
}

const COUNTERS = ['stored', 'failed', 'delivered', 'failedAttempts'] as const
type Counters = Pick<PipelineCounts, (typeof COUNTERS)[number]>
