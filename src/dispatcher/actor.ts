/**
 * The dispatcher actor: the body of the worker thread DispatcherThread starts. It runs the
 * outbound Dispatcher with a pool of its own, so slow receivers, TLS handshakes and signing
 * never take time from the pipeline thread's consumer or the HTTP thread. Calls it answers:
 * `wake` (cast: new deliveries were stored), `metrics`, `lanes`, `health`, `close`.
 */
import { parentPort, workerData } from 'node:worker_threads'
import { Rpc } from '../actors/rpc.js'
import type { HostApi } from '../actors/thread-host.js'
import { lowerThreadPriority, nameThread } from '../actors/thread-self.js'
import type { Config } from '../config.js'
import { threadLogger } from '../log.js'
import { registry } from '../metrics.js'
import { SecretBox } from '../util/secret-box.js'
import { parseNoProxy, parseProxyUrl } from '../outbound/proxy-config.js'
import { parseAllowList } from '../outbound/ssrf.js'
import { backoffDelay, sleep } from '../util/backoff.js'
import { runAll } from '../util/once.js'
import type { DispatcherActorApi, DispatcherHostApi } from './actor-api.js'
import { Dispatcher } from './dispatcher.js'
import { notRunning } from './health.js'
import type { DispatcherTuning } from './options.js'
import { createDispatcherPool } from './pool-config.js'
import { usePreparedStatements } from '../db/prepared.js'
import { startTracing, type TracingOptions } from '../tracing/index.js'

export interface DispatcherActorData {
  connectionString: string
  /** The embedded PGlite: its socket server does not pass notifications between connections. */
  embedded: boolean
  config: Pick<
    Config,
    | 'SLUICE_DELIVERY_SCHEDULE'
    | 'SLUICE_DELIVERY_TIMEOUT_MS'
    | 'SLUICE_DISABLE_AFTER_HOURS'
    | 'SLUICE_OUTBOUND_ALLOW'
    | 'SLUICE_OUTBOUND_PROXY'
    | 'SLUICE_OUTBOUND_NO_PROXY'
    | 'outboundCa'
  >
  /** The 32-byte key of the subscription secrets (a Uint8Array after the structured clone). */
  secretKey: Uint8Array
  tuning: DispatcherTuning
  logLevel: string
  nice: number
  /** Null: tracing is off and no OpenTelemetry module is loaded in this thread. */
  tracing: TracingOptions | null
}

const data = workerData as DispatcherActorData
nameThread('sluice-dispatch')
lowerThreadPriority(data.nice)

const tracer = await startTracing(data.tracing)
const stop = new AbortController()
let dispatcher: Dispatcher | null = null
// The one being started: a close that comes meanwhile must close it too, or pool.end() below
// would wait forever for the connections it holds.
let starting: Dispatcher | null = null
// Why the last start failed (the database gone again since the pipeline saw it up), for /readyz.
let startError: string | null = null
const pool = createDispatcherPool(data.connectionString, data.embedded)
// Not on PGlite's socket server: its connections share one backend (src/db/prepared.ts).
if (!data.embedded) usePreparedStatements(pool)
const actor: DispatcherActorApi = {
  wake: () => dispatcher?.wake(),
  hand: (handed) => (dispatcher ?? starting)?.handed(handed),
  metrics: () => registry.getMetricsAsJSON(),
  lanes: () => dispatcher?.lanesView() ?? [],
  health: () => dispatcher?.health() ?? notRunning(startError),
  close: async () => {
    stop.abort()
    await (dispatcher ?? starting)?.close()
    await runAll([['pool', () => pool.end()]], {
      ms: 2000,
      report: () => logger.warn('closing the dispatcher: its pool still has connections in use'),
    })
    // Last: the spans of the attempts that settled above are exported before the thread ends.
    await tracer?.shutdown().catch((err: unknown) => logger.warn({ err }, 'exporting spans failed'))
    parentPort!.unref()
  },
}
const rpc = new Rpc<HostApi & DispatcherHostApi>(parentPort!, actor)
const logger = threadLogger(data.logLevel, (line) => rpc.cast.log(line))
pool.on('error', (err) => logger.warn({ err }, 'idle database connection lost'))

const { config } = data
// Started once the database is up, but it may go away again: retry until it is back.
for (let failures = 0; !stop.signal.aborted; failures++) {
  const candidate = new Dispatcher({
    pool,
    box: new SecretBox(Buffer.from(data.secretKey)),
    listen: data.embedded ? null : data.connectionString,
    policy: { allow: parseAllowList(config.SLUICE_OUTBOUND_ALLOW.join(',')) },
    egress: {
      proxy: config.SLUICE_OUTBOUND_PROXY ? parseProxyUrl(config.SLUICE_OUTBOUND_PROXY) : null,
      noProxy: parseNoProxy(config.SLUICE_OUTBOUND_NO_PROXY.join(',')),
      ...(config.outboundCa ? { ca: config.outboundCa } : {}),
    },
    schedule: config.SLUICE_DELIVERY_SCHEDULE,
    timeoutMs: config.SLUICE_DELIVERY_TIMEOUT_MS,
    disableAfterHours: config.SLUICE_DISABLE_AFTER_HOURS,
    watermark: () => rpc.remote.watermark(),
    offerLeases: (offer) => rpc.cast.offer(offer),
    logger,
    ...(tracer ? { tracer } : {}),
    ...data.tuning,
  })
  starting = candidate
  try {
    await candidate.start()
    starting = null
    // Closed while it started: the close above has shut it already.
    if (stop.signal.aborted) break
    dispatcher = candidate
    rpc.cast.started()
    logger.info({ owner: candidate.owner, listen: !data.embedded }, 'dispatcher running')
    break
  } catch (err) {
    starting = null
    startError = (err as Error).message
    await candidate.close()
    logger.warn({ err }, 'dispatcher cannot start yet; retrying')
    await sleep(backoffDelay(failures, 500, 30_000), stop.signal)
  }
}
