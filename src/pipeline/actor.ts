/**
 * The pipeline actor: the body of the worker thread PipelineThread starts. It runs the whole
 * pipeline behind the journal (forwarder, broker, consumer, worker pool, Postgres) so that the
 * HTTP thread does HTTP and journal appends only. It reads and marks the journal through calls
 * to the HTTP thread (ThreadJournal), and serves PipelineActorApi (src/pipeline/actor-api.ts).
 */
import { parentPort, workerData } from 'node:worker_threads'
import { Rpc } from '../actors/rpc.js'
import type { HostApi } from '../actors/thread-host.js'
import { lowerThreadPriority, nameThread } from '../actors/thread-self.js'
import type { Config } from '../config.js'
import { threadLogger } from '../log.js'
import { threadMetrics } from '../metrics.js'
import type { PipelineActorApi, PipelineHostApi } from './actor-api.js'
import { Pipeline, type PipelineOptions } from './pipeline.js'
import { ThreadJournal } from './thread-journal.js'
import { startTracing, tracingOptions } from '../tracing/index.js'

export interface PipelineActorData {
  config: Config
  options: PipelineOptions
  logLevel: string
  /** Nice value this thread (and the worker threads it starts) runs at; 0 keeps the default. */
  nice: number
}

const data = workerData as PipelineActorData
nameThread('sluice-pipeline')
lowerThreadPriority(data.nice)

// This thread's own tracer (forward and store spans); the dispatcher thread starts its own.
const tracer = await startTracing(tracingOptions(data.config, 'pipeline'))
let pipeline: Pipeline | null = null
const actor: PipelineActorApi = {
  notify: () => pipeline?.notify(),
  pressure: (busy) => pipeline?.ingestPressure(busy === true),
  ready: () => pipeline?.ready(),
  readiness: () => pipeline?.readiness() ?? {},
  metrics: () => threadMetrics(),
  // Served by property path (`admin.getEvent`): every AdminData method, no list of them.
  get admin() {
    if (!pipeline) throw new Error('the pipeline is not set up yet')
    return pipeline.admin
  },
  close: async () => {
    await pipeline?.close()
    journal.close()
    // Last, after the dispatcher thread has ended: export the spans of the batches just settled.
    await tracer?.shutdown().catch((err: unknown) => logger.warn({ err }, 'exporting spans failed'))
    // Nothing of ours is left on this thread's loop: let it end.
    parentPort!.unref()
  },
}
const rpc = new Rpc<HostApi & PipelineHostApi>(parentPort!, actor)
const logger = threadLogger(data.logLevel, (line) => rpc.cast.log(line))
const journal = new ThreadJournal(rpc.remote)
pipeline = new Pipeline(data.config, journal, logger, {
  ...data.options,
  ...(tracer ? { tracer } : {}),
})
await pipeline.start()
rpc.cast.started()
