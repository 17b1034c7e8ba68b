import { sleep } from '../stages/services.js'
import type { BenchContext } from '../types.js'
import type { adminClient } from './admin.js'
import type { DriveSpec } from './driver.js'
import { engineRun, type EngineRun } from './engine-run.js'
import { OrderCheck, type OrderReport } from './order-check.js'
import { sampleActivity, type ActivityReport } from './pg-activity.js'
import type { ReceiverFarm } from './receivers.js'

/** One closed-loop run of (d), with what the receivers saw of the order. */
export interface OrderedRun extends EngineRun {
  order: OrderReport
  /** What the bench database's backends were busy with during the run. */
  activity: ActivityReport
}

export interface OrderedRounds {
  keys: number
  /** Events in a row with the same key. */
  keyRun: number
  window: number
  /** Alternating: unordered[i] then ordered[i]. */
  unordered: OrderedRun[]
  ordered: OrderedRun[]
}

/** The ordering (d) gives its subscriptions: the key is the event's `customer` field. */
export const ORDERING = { key: '/customer' }

/**
 * (d): the healthy subscriptions (`ids`) unordered, then ordered by `/customer`, `rounds`
 * times in turn, under the same closed loop of `spec.window` events whose `customer` takes
 * `keys` values (`keyRun` events in a row share one: floor(seq / keyRun) % keys). The same subscriptions, receivers and load; only `ordering` is
 * changed between runs (PATCH), so an unordered run has no ordered subscription at all and the
 * dispatcher does no chain work in it. Every run is checked from the receivers' side
 * (OrderCheck); in an unordered run the check shows what it would catch.
 */
export async function orderedRounds(
  ctx: BenchContext,
  farm: ReceiverFarm,
  o: {
    spec: DriveSpec
    admin: ReturnType<typeof adminClient>
    ids: string[]
    keys: number
    keyRun: number
    rounds: number
    settleMs: number
    engine: { pid: number; databaseUrl: string }
  },
): Promise<OrderedRounds> {
  const keyOf = (seq: number) => Math.floor(seq / o.keyRun) % o.keys
  const spec: DriveSpec = { ...o.spec, keyOf }
  const run = async (): Promise<OrderedRun> => {
    const check = new OrderCheck(keyOf)
    const sampler = sampleActivity(o.engine.databaseUrl)
    try {
      const r = await engineRun(farm, { ...spec, watch: check }, o.engine)
      return { ...r, order: check.report(), activity: await sampler.stop() }
    } finally {
      await sampler.stop().catch(() => {})
    }
  }
  const order = async (ordering: typeof ORDERING | null) => {
    await o.admin.patch(o.ids, { ordering })
    // The dispatchers' cache follows within a second; the store statement at once.
    await sleep(o.settleMs)
  }
  const result: OrderedRounds = {
    ...{ keys: o.keys, keyRun: o.keyRun, window: spec.window },
    ...{ unordered: [], ordered: [] },
  }
  const what = `${o.ids.length} subscriptions, ${o.keys} keys, closed loop of ${spec.window}`
  try {
    for (let round = 1; round <= o.rounds; round++) {
      ctx.log(`(d) round ${round}: unordered, ${what}, ${spec.seconds} s`)
      result.unordered.push(await run())
      await order(ORDERING)
      ctx.log(`(d) round ${round}: ordered by ${ORDERING.key}, ${what}, ${spec.seconds} s`)
      result.ordered.push(await run())
      await order(null)
    }
  } catch (err) {
    await order(null).catch(() => {})
    throw err
  }
  return result
}
