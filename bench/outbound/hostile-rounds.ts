import { sleep } from '../stages/services.js'
import type { BenchContext } from '../types.js'
import type { adminClient, SubscriptionBody } from './admin.js'
import { deliveryStats, type KindStats } from './delivery-stats.js'
import type { EngineRun } from './engine-run.js'
import type { Behaviour, ReceiverFarm } from './receivers.js'

export interface HostileRounds {
  a: EngineRun[]
  b: EngineRun[]
  /** Requests each hostile kind received during the (b) runs. */
  requests: Record<string, number>
  /** Deliveries per receiver kind after the last (b). */
  kinds: KindStats[]
}

/**
 * (a) and (b) in turn, `rounds` times: the engine speeds up over its first minutes and the
 * machine is shared, so each is the mean of its runs, taken in turns. (b) adds the hostile
 * subscriptions for its run and deletes them after it (they come back active when posted again:
 * the same url, types and sources). Either may be left out (`a` / `b` false).
 */
export async function hostileRounds(
  ctx: BenchContext,
  farm: ReceiverFarm,
  o: {
    a: boolean
    b: boolean
    rounds: number
    hostile: Behaviour[]
    sub: (url: string) => SubscriptionBody
    admin: ReturnType<typeof adminClient>
    databaseUrl: string
    run: () => Promise<EngineRun>
    /** After the first (a): the bare loop again, with the engine idle. */
    afterFirstA: () => Promise<void>
    settleMs: number
    timeoutMs: number
    label: { healthy: number; seconds: number }
  },
): Promise<HostileRounds> {
  const out: HostileRounds = { a: [], b: [], requests: {}, kinds: [] }
  const hostile = o.hostile.flatMap((b) => farm.of(b))
  for (let round = 1; round <= o.rounds; round++) {
    if (o.a) {
      ctx.log(`(a) round ${round}: ${o.label.healthy} healthy subscriptions, ${o.label.seconds} s`)
      out.a.push(await o.run())
      if (round === 1) await o.afterFirstA()
    }
    if (!o.b) continue
    const ids = await o.admin.subscribe(hostile.map((r) => o.sub(r.url())))
    await sleep(o.settleMs)
    const before = Object.fromEntries(o.hostile.map((b) => [b, farm.requestsOf(b)]))
    ctx.log(`(b) round ${round}: + ${hostile.length} hanging/slow/failing, ${o.label.seconds} s`)
    out.b.push(await o.run())
    for (const k of o.hostile) {
      out.requests[k] = (out.requests[k] ?? 0) + farm.requestsOf(k) - before[k]!
    }
    out.kinds = await deliveryStats(o.databaseUrl)
    await o.admin.remove(ids)
    // Their attempts in flight end (deadline) before the next (a).
    await sleep(o.settleMs + o.timeoutMs)
  }
  return out
}
