/**
 * A long-lived part of the engine (server, journal, forwarder, consumer, worker pool, store).
 * Contract: start() resolves once the part works (or rejects, leaving nothing open); close()
 * stops it, waits for what it has in flight, and returns the same promise when called again.
 * Build close() with onceAsync(), and run several cleanup steps with runAll() so that every
 * step runs even when an earlier one throws (src/util/once.ts).
 */
export interface Component {
  start(): Promise<void>
  close(): Promise<void>
}
