import type { EventTracer, TracingOptions } from './types.js'

export { tracingOptions } from './types.js'
export { tracingWarnings } from './warnings.js'
export type { EventTracer, TracingOptions } from './types.js'

/**
 * The thread's tracer, or null when tracing is off. The SDK is a dynamic import, so with
 * tracing off no OpenTelemetry package is loaded (test/lazy-sdk.test.ts checks it).
 */
export async function startTracing(options: TracingOptions | null): Promise<EventTracer | null> {
  if (!options) return null
  const { createTracer } = await import('./sdk.js')
  return createTracer(options)
}
