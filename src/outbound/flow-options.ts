/**
 * The numbers of outbound flow control. Two folders read them: the dispatcher
 * (src/dispatcher/flow.ts) narrows, holds and mirrors the pause, and the database decides the
 * pause over every node's results (src/db/delivery-results.ts). They live in outbound, the
 * delivery policy folder both already import and that imports neither, so db and dispatcher do
 * not import each other for them.
 */
export interface FlowOptions {
  /** Failed attempts in a row that, spanning pauseAfterMs, pause a subscription. @defaultValue 10 */
  readonly pauseAfterFailures: number
  /** The shortest run of failures that pauses. @defaultValue 30000 */
  readonly pauseAfterMs: number
  /** A paused subscription's probes are this far apart, across all nodes. @defaultValue 30000 */
  readonly probeIntervalMs: number
  /** The longest hold a receiver's Retry-After puts on new attempts. @defaultValue 60000 */
  readonly holdMaxMs: number
}

export const FLOW_DEFAULTS: FlowOptions = Object.freeze({
  pauseAfterFailures: 10,
  pauseAfterMs: 30_000,
  probeIntervalMs: 30_000,
  holdMaxMs: 60_000,
})
