import { loadConfig } from '../../src/config.js'
import { Engine } from '../../src/engine.js'
import { journalCommitSeconds } from '../../src/metrics.js'
import { timeJournalOps } from './journal-ops-report.js'
import { startLoopReport } from './loop-report.js'

// Sluice's engine as `sluice start` runs it, with the pipeline thread's nice value set by
// BENCH_PIPELINE_NICE (unset: the engine's default). An argument (older callers passed the
// journal writer's placement) is ignored.
const nice = process.env.BENCH_PIPELINE_NICE
const batch = process.env.BENCH_CONSUMER_BATCH
const concurrency = process.env.BENCH_CONSUMER_CONCURRENCY
const engine = new Engine(loadConfig(), {
  pipeline: {
    ...(nice ? { nice: Number(nice) } : {}),
    consumer: {
      ...(batch ? { batchSize: Number(batch) } : {}),
      ...(concurrency ? { concurrency: Number(concurrency) } : {}),
    },
  },
})
await engine.start()
const report = startLoopReport()
// The synchronous part of each main-thread journal call (the writer is inline): which stalls it.
const journalOps = report
  ? timeJournalOps(engine.journal, [
      'markForwarded',
      'readPending',
      'compact',
      'compactInBackground',
      'stats',
      'forwardedThrough',
    ])
  : null
console.log(JSON.stringify({ msg: 'listening', port: engine.port }))
process.once('SIGTERM', () => {
  if (report) {
    report()
    // Commits by duration (cumulative buckets, seconds), count and total.
    void journalCommitSeconds.get().then((m) => {
      const v: Record<string, number> = {}
      for (const x of m.values) v[String(x.labels.le ?? x.metricName)] = x.value
      process.stderr.write(`${JSON.stringify({ msg: 'journal commits', ...v })}\n`)
      process.stderr.write(`${JSON.stringify({ msg: 'journal calls', ...journalOps?.() })}\n`)
    })
  }
  void engine.close().finally(() => process.exit(0))
})
