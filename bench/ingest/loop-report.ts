import { monitorEventLoopDelay, performance, PerformanceObserver } from 'node:perf_hooks'

/**
 * BENCH_ENGINE_LOOP_REPORT=1: what stalls the engine's main thread, written to stderr as one
 * JSON line when the engine stops. Event-loop delay (a 1 ms timer's lateness: a request
 * arriving during a stall waits that long), GC pauses on this thread, and journal commits
 * (duration including the fsync, events per commit), to tell where an ingest latency tail
 * comes from. Costs a timer and an observer, so only when asked.
 */
export function startLoopReport(): (() => void) | null {
  if (!process.env.BENCH_ENGINE_LOOP_REPORT) return null
  const delay = monitorEventLoopDelay({ resolution: 1 })
  delay.enable()
  const gc = { count: 0, totalMs: 0, maxMs: 0, over5ms: 0, byKind: {} as Record<string, number> }
  const obs = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      gc.count++
      gc.totalMs += e.duration
      gc.maxMs = Math.max(gc.maxMs, e.duration)
      if (e.duration > 5) gc.over5ms++
      const d = (e as { detail?: { kind?: number; flags?: number } }).detail
      const kind = `${d?.kind ?? '?'}/${d?.flags ?? '?'}`
      gc.byKind[kind] = (gc.byKind[kind] ?? 0) + e.duration
    }
  })
  obs.observe({ entryTypes: ['gc'] })
  // Utilisation per 100 ms, as src/pipeline/pressure.ts samples it: how often it was >= 0.75
  // (the pipeline defers forwarding while it is).
  const elu = { samples: 0, over75: 0 }
  let last = performance.eventLoopUtilization()
  const sampler = setInterval(() => {
    const now = performance.eventLoopUtilization()
    elu.samples++
    if (performance.eventLoopUtilization(now, last).utilization >= 0.75) elu.over75++
    last = now
  }, 100)
  sampler.unref()
  return () => {
    delay.disable()
    clearInterval(sampler)
    obs.disconnect()
    const ms = (ns: number) => Math.round(ns / 1e4) / 100
    process.stderr.write(
      `${JSON.stringify({
        msg: 'engine loop report',
        loopDelayMs: {
          p50: ms(delay.percentile(50)),
          p99: ms(delay.percentile(99)),
          p999: ms(delay.percentile(99.9)),
          max: ms(delay.max),
        },
        eluSamples: elu,
        gc: { ...gc, totalMs: Math.round(gc.totalMs), maxMs: Math.round(gc.maxMs * 10) / 10 },
      })}\n`,
    )
  }
}
