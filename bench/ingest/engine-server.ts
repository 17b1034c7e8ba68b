import { loadConfig } from '../../src/config.js'
import { Engine } from '../../src/engine.js'

// Sluice's engine as `sluice start` runs it, with the journal writer placement chosen by the
// first argument (inline | worker | default) so the benchmark can compare them, and the
// pipeline's placement and nice value by BENCH_PIPELINE_PLACEMENT (thread | inline) and
// BENCH_PIPELINE_NICE (unset: the engine's defaults).
const mode = process.argv[2]
const placement = process.env.BENCH_PIPELINE_PLACEMENT
const nice = process.env.BENCH_PIPELINE_NICE
const batch = process.env.BENCH_CONSUMER_BATCH
const concurrency = process.env.BENCH_CONSUMER_CONCURRENCY
const engine = new Engine(loadConfig(), {
  ...(mode === 'inline' || mode === 'worker' ? { journalWriter: mode } : {}),
  ...(placement === 'thread' || placement === 'inline' ? { pipelinePlacement: placement } : {}),
  pipeline: {
    ...(nice ? { nice: Number(nice) } : {}),
    consumer: {
      ...(batch ? { batchSize: Number(batch) } : {}),
      ...(concurrency ? { concurrency: Number(concurrency) } : {}),
    },
  },
})
await engine.start()
console.log(JSON.stringify({ msg: 'listening', port: engine.port }))
process.once('SIGTERM', () => {
  void engine.close().finally(() => process.exit(0))
})
