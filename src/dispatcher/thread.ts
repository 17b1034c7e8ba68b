import { Counter } from 'prom-client'
import { ThreadHost } from '../actors/thread-host.js'
import type { Config } from '../config.js'
import { runningFromSources } from '../util/package-root.js'
import type { Logger } from '../log.js'
import { registry, threadMetricsLate, type ThreadMetrics } from '../metrics.js'
import { loadSecretKey } from '../util/secret-box.js'
import { LastAnswer } from '../util/last-answer.js'
import { withTimeout } from '../util/timeout.js'
import type { DispatcherActorData } from './actor.js'
import type { DispatcherActorApi, DispatcherHostApi } from './actor-api.js'
import { notRunning, type DispatcherHealth } from './health.js'
import type { LaneView } from './lanes.js'
import { outboundCounts, type OutboundCounts } from './outbound-counts.js'
import type { DispatcherTuning } from './options.js'
import { tracingOptions } from '../tracing/types.js'
import type { HandedDeliveries, LeaseOffer } from './first-leases.js'

// Under tap the sources run through its TypeScript loader, which worker threads inherit.
const actorFile = new URL(`./actor.${runningFromSources ? 'ts' : 'js'}`, import.meta.url)

const restarts = new Counter({
  name: 'sluice_dispatcher_thread_restarts_total',
  help: 'Restarts of the outbound dispatcher thread after it died',
  registers: [registry],
})

// Its answers reach the HTTP thread through the pipeline thread, whose own calls wait 3 s: the
// inner bound is the shorter one, so a slow dispatcher costs its part of an answer, not all of it.
const CALL_TIMEOUT_MS = 1000

/**
 * Runs the outbound Dispatcher as an actor in a worker thread (src/dispatcher/actor.ts),
 * started by the pipeline once the database is up. A thread that dies is restarted with
 * back-off; what it had leased is attempted again once the leases expire.
 */
export class DispatcherThread {
  private readonly host: ThreadHost<DispatcherActorApi>
  private readonly answers = new LastAnswer<ThreadMetrics>(() => threadMetricsLate.inc())
  // A hung thread reads `down` after 30 s rather than its last `up` for ever.
  private readonly healthAnswers = new LastAnswer<DispatcherHealth>(() => {}, 30_000)

  constructor(
    data: DispatcherActorData,
    logger: Logger,
    /** The pipeline's ordering watermark, which the thread asks for (src/pipeline/watermark.ts). */
    watermark: () => Promise<number>,
    /** Where the thread's lease offers go (the store's worker pool). */
    private readonly offers: (offer: LeaseOffer | null) => void = () => {},
  ) {
    this.host = new ThreadHost({
      file: actorFile,
      workerData: () => data,
      serve: { watermark: () => watermark(), offer: (o) => offers(o) } satisfies DispatcherHostApi,
      logger,
      name: 'dispatcher thread',
      // Its own close waits up to closeGraceMs (5 s) for attempts in flight; past this bound the
      // thread is ended and its leases expire (delivered at least once), within the engine's stop.
      closeTimeoutMs: 8000,
      // The dead thread's offer names an owner no thread answers for: leases to it would wait
      // for their expiry. The new thread makes its own.
      onRestart: () => {
        restarts.inc()
        offers(null)
      },
    })
  }

  start(): void {
    this.host.start()
  }

  /** New deliveries were stored on this node (a hint: NOTIFY and the poll also wake it). */
  wake(): void {
    this.host.current?.rpc.cast.wake()
  }

  /** Deliveries the store statement leased to the thread's offer. */
  hand(handed: HandedDeliveries): void {
    this.host.current?.rpc.cast.hand(handed)
  }

  /**
   * The thread's registry, for /metrics and /v1/status; none while it is being restarted. A
   * thread too busy to answer in time gives its previous answer: its counters must not read as
   * a reset (Prometheus) or as nothing delivered (the operator page).
   */
  async metrics(): Promise<ThreadMetrics[]> {
    const rpc = this.host.current?.rpc
    if (!rpc) return []
    const answer = () => rpc.remote.metrics()
    const metrics = () => withTimeout(answer(), CALL_TIMEOUT_MS, 'the dispatcher does not answer')
    return [await this.answers.of(rpc, metrics)]
  }

  /** Deliveries made and failed since the thread started, and the backlog it last counted. */
  async outbound(): Promise<OutboundCounts> {
    const [metrics] = await this.metrics()
    return outboundCounts(metrics)
  }

  /**
   * Whether its claims and result writes reach Postgres (src/dispatcher/health.ts). A thread
   * too busy to answer in time gives its previous answer (up to 30 s old) rather than looking down.
   */
  async health(): Promise<DispatcherHealth> {
    const rpc = this.host.current?.rpc
    if (!rpc) return notRunning('the dispatcher thread is starting')
    const ask = () => withTimeout(rpc.remote.health(), CALL_TIMEOUT_MS, 'no answer in time')
    return this.healthAnswers.of(rpc, ask).catch((err: unknown) => ({
      ...notRunning((err as Error).message),
      state: 'down' as const,
    }))
  }

  /** In flight and flow control per subscription on this node; none while it restarts. */
  async lanes(): Promise<LaneView[]> {
    const rpc = this.host.current?.rpc
    if (!rpc) return []
    const answer = rpc.remote.lanes()
    return withTimeout(answer, CALL_TIMEOUT_MS, 'the dispatcher thread does not answer')
  }

  /** Ends the thread at once, as a crash would (tests): a new one takes over after a back-off. */
  terminate(): Promise<void> {
    return this.host.terminate()
  }

  close(): Promise<void> {
    this.offers(null)
    return this.host.close()
  }
}

/** The thread for this configuration and database; the subscription key as the pipeline's. */
export function dispatcherThread(
  config: Config,
  database: { url: string; embedded: boolean },
  logger: Logger,
  tuning: DispatcherTuning = {},
  watermark: () => Promise<number> = () => Promise.resolve(Date.now()),
  offers?: (offer: LeaseOffer | null) => void,
): DispatcherThread {
  // Structured clone into the pipeline thread turned the configured Buffer into a Uint8Array.
  const configured = config.SLUICE_SECRET_KEY ? Buffer.from(config.SLUICE_SECRET_KEY) : undefined
  return new DispatcherThread(
    {
      connectionString: database.url,
      embedded: database.embedded,
      config: {
        SLUICE_DELIVERY_SCHEDULE: config.SLUICE_DELIVERY_SCHEDULE,
        SLUICE_DELIVERY_TIMEOUT_MS: config.SLUICE_DELIVERY_TIMEOUT_MS,
        SLUICE_DISABLE_AFTER_HOURS: config.SLUICE_DISABLE_AFTER_HOURS,
        SLUICE_OUTBOUND_ALLOW: config.SLUICE_OUTBOUND_ALLOW,
        SLUICE_OUTBOUND_PROXY: config.SLUICE_OUTBOUND_PROXY,
        SLUICE_OUTBOUND_NO_PROXY: config.SLUICE_OUTBOUND_NO_PROXY,
        outboundCa: config.outboundCa,
      },
      secretKey: loadSecretKey(configured, config.SLUICE_DATA_DIR).key,
      tuning,
      logLevel: logger.level,
      nice: config.SLUICE_PIPELINE_NICE,
      tracing: tracingOptions(config, 'dispatcher'),
    },
    logger,
    watermark,
    offers,
  )
}
