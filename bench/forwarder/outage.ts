import { performance } from 'node:perf_hooks'
import { startLoad, jsonBody, type LoadResult } from '../stages/loadgen.js'
// One proxy for tests and benchmarks; the build compiles it into dist/test/helpers/.
import { TcpProxy } from '../../test/helpers/tcp-proxy.js'
import {
  deleteRabbitTopology,
  freshDatabase,
  sleep,
  startEngine,
  uniqueName,
} from '../stages/services.js'
import type { BenchContext } from '../types.js'

export interface OutageOptions {
  /** Seconds the broker link stays cut. */
  outageSeconds: number
  /** Offered load in events/s, before, during and after the outage. */
  rate: number
  /** Seconds of load before the cut. */
  warmSeconds: number
  /** Longest wait for the backlog to drain after the restore. */
  drainMaxSeconds: number
  bodyBytes: number
}

export interface OutageResult {
  offeredRate: number
  outageSeconds: number
  /** Highest journal backlog seen (GET /readyz checks.journal.backlog). */
  backlogPeak: number
  /** Backlog before the cut (steady state under the same load). */
  backlogBefore: number
  /** Seconds from the restore until the backlog started to fall (broker reconnect + back-off). */
  reconnectSeconds: number | null
  /** Seconds from the peak until the backlog was back near its steady state; null if it never was. */
  drainSeconds: number | null
  /** Backlog decrease per second while draining (new events keep arriving). */
  netDrainPerSecond: number | null
  /** Events forwarded per second while draining: net drain plus the events arriving meanwhile. */
  drainPerSecond: number | null
  load: LoadResult
  samples: Array<{ t: number; backlog: number }>
}

/**
 * The engine with RabbitMQ behind a TCP proxy and a fresh Postgres database, under a fixed
 * load from autocannon (own process). The broker link is cut for `outageSeconds`, restored,
 * and the journal backlog (from /readyz) sampled until it is back near its pre-cut level.
 */
export async function benchOutageDrain(ctx: BenchContext, o: OutageOptions): Promise<OutageResult> {
  const queue = uniqueName('sluice_bench_outage')
  const db = await freshDatabase()
  const proxy = new TcpProxy('127.0.0.1', 5672)
  let engine: Awaited<ReturnType<typeof startEngine>> | null = null
  try {
    const port = await proxy.start()
    engine = await startEngine(ctx, {
      SLUICE_BROKER: 'rabbitmq',
      AMQP_URL: `amqp://guest:guest@127.0.0.1:${port}`,
      SLUICE_QUEUE: queue,
      DATABASE_URL: db.url,
      SLUICE_WORKERS: '2',
    })
    await engine.pipelineUp()
    const e = engine
    const t0 = performance.now()
    const now = () => (performance.now() - t0) / 1000
    const samples: Array<{ t: number; backlog: number }> = []
    const sample = async () => {
      const backlog = (await e.readyz()).checks.journal?.backlog ?? NaN
      samples.push({ t: Number(now().toFixed(2)), backlog })
      return backlog
    }
    const load = await startLoad(ctx, {
      url: `${e.base}/webhook`,
      connections: 50,
      duration: o.warmSeconds + o.outageSeconds + o.drainMaxSeconds,
      body: jsonBody(o.bodyBytes),
      overallRate: o.rate,
    })
    let backlogBefore = 0
    while (now() < o.warmSeconds) {
      backlogBefore = Math.max(backlogBefore, await sample())
      await sleep(250)
    }
    ctx.log(`cutting the broker link for ${o.outageSeconds} s`)
    proxy.cut()
    const cutAt = now()
    while (now() < cutAt + o.outageSeconds) {
      await sample()
      await sleep(250)
    }
    proxy.restore()
    const restoredAt = now()
    ctx.log('broker link restored; waiting for the backlog to drain')
    // Drained: back within the steady-state backlog (plus slack for one forwarder batch).
    const drainedLevel = Math.max(backlogBefore * 2, 1000)
    let peak = 0
    let peakAt = restoredAt
    let fallingAt: number | null = null
    let drainedAt: number | null = null
    let drainedBacklog = 0
    while (now() < restoredAt + o.drainMaxSeconds) {
      const b = await sample()
      if (b > peak) {
        peak = b
        peakAt = now()
      } else if (fallingAt === null && b < peak) fallingAt = now()
      if (fallingAt !== null && b <= drainedLevel) {
        drainedAt = now()
        drainedBacklog = b
        break
      }
      await sleep(250)
    }
    const result = await load.stop()
    const backlogPeak = Math.max(peak, ...samples.map((s) => s.backlog))
    const drainSeconds = drainedAt === null ? null : drainedAt - peakAt
    const net = drainSeconds ? (backlogPeak - drainedBacklog) / drainSeconds : null
    return {
      offeredRate: o.rate,
      outageSeconds: o.outageSeconds,
      backlogPeak,
      backlogBefore,
      reconnectSeconds: fallingAt === null ? null : Number((fallingAt - restoredAt).toFixed(2)),
      drainSeconds: drainSeconds === null ? null : Number(drainSeconds.toFixed(2)),
      netDrainPerSecond: net === null ? null : Math.round(net),
      drainPerSecond: net === null ? null : Math.round(net + result.rps),
      load: result,
      samples,
    }
  } finally {
    await engine?.close()
    await proxy.close()
    await db.drop()
    await deleteRabbitTopology(queue)
  }
}
