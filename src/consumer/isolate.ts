import { DatabaseUnavailableError, StoreClosedError } from '../db/errors.js'
import type { EventResult, StorableEvent } from '../event.js'
import { PermanentError } from '../permanent-error.js'

/**
 * Runs a batch and, when the whole run fails for a reason of the batch's own (a worker that
 * crashed or ran out of memory on it, a bug in parsing one body), finds the culprit by
 * bisection instead of charging every event: each half is run on its own, down to single
 * events. Events of halves that succeed get their real results (stored); only an event that
 * fails alone gets a failed result, which the policy charges as one attempt. A poison event
 * among n costs about 2·log2(n) runs; a batch that fails only as a whole (too big for memory)
 * is stored in parts and nobody is charged.
 *
 * `ownFault(err)` tells a batch fault from a condition that is no event's fault (the database
 * down, a permanent setup problem): for those it returns false and the error is rethrown, from
 * whichever part it happened in, so the caller holds the whole batch without charging anyone.
 * A part already stored then is found stored when the batch is run again (idempotent upsert).
 */
export async function runIsolating(
  events: StorableEvent[],
  run: (events: StorableEvent[]) => Promise<EventResult[]>,
  ownFault: (err: unknown) => Promise<boolean>,
): Promise<EventResult[]> {
  try {
    return await run(events)
  } catch (err) {
    if (!(await ownFault(err))) throw err
    if (events.length === 1) {
      const error = (err as Error).message ?? String(err)
      return [{ ok: false, error, permanent: false, processedAt: Date.now() }]
    }
    // One half after the other: the culprit may crash a worker again; no need to crash two.
    const mid = Math.ceil(events.length / 2)
    const first = await runIsolating(events.slice(0, mid), run, ownFault)
    const second = await runIsolating(events.slice(mid), run, ownFault)
    return [...first, ...second]
  }
}

/**
 * runIsolating's `ownFault` for the store step: any failure while the database answers, but an
 * outage or a setup problem (the worker pool's two rejections of "not the events' fault") and
 * a store step closed under the batch by a stopping engine.
 */
export function batchFault(databaseUp: () => Promise<boolean>): (err: unknown) => Promise<boolean> {
  return async (err) =>
    !(
      err instanceof DatabaseUnavailableError ||
      err instanceof PermanentError ||
      err instanceof StoreClosedError
    ) && (await databaseUp().catch(() => false))
}
