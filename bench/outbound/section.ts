import { randomBytes } from 'node:crypto'
import { resolve } from 'node:path'
import {
  deadPort,
  freshDatabase,
  sleep,
  startEngine,
  type RunningEngine,
} from '../stages/services.js'
import type { BenchContext, BenchSection, SectionResult } from '../types.js'
import { adminClient } from './admin.js'
import { runBare } from './bare.js'
import { drive, eventBody, type DriveSpec } from './driver.js'
import { engineRun, withRunnerCpu } from './engine-run.js'
import { fanOut } from './fanout.js'
import { flakyRun } from './flaky.js'
import { hostileRounds } from './hostile-rounds.js'
import { orderedRounds } from './ordered.js'
import { ReceiverFarm, type Behaviour } from './receivers.js'
import * as t from './tables.js'

const SECONDS = Number(process.env.BENCH_OUTBOUND_SECONDS ?? 10)
const WINDOW = Number(process.env.BENCH_OUTBOUND_WINDOW ?? 20)
const FAN_OUT = Number(process.env.BENCH_OUTBOUND_FANOUT ?? 1000)
const BODY_BYTES = 1024
// (c) with a large event shows what a fan-out holds in memory per copy of the body.
const FAN_OUT_BYTES = Number(process.env.BENCH_OUTBOUND_FANOUT_BYTES ?? BODY_BYTES)
const KEYS = Number(process.env.BENCH_OUTBOUND_KEYS ?? 100)
// 1: consecutive events have different keys (customer c<seq % KEYS>); n: runs of n in a row.
const KEY_RUN = Number(process.env.BENCH_OUTBOUND_KEY_RUN ?? 1)
// Two events of each key outstanding: a key's second event has to wait in its chain, so (d)
// measures ordering at work, and the dispatcher has a backlog (not the loop's window) to claim.
const ORDERED_WINDOW = Number(process.env.BENCH_OUTBOUND_ORDERED_WINDOW ?? 2 * KEYS)
const FLAKY_EVENTS = Number(process.env.BENCH_OUTBOUND_FLAKY_EVENTS ?? 500)
const PARTS = (process.env.BENCH_OUTBOUND_PARTS ?? 'a,b,c,d,e').split(',').filter(Boolean)
const HEALTHY = 50
const HOSTILE: Behaviour[] = ['hanging', 'slow', 'failing']
const HOSTILE_EACH = 10
/** The subscriptions' default maxInFlight, which the bare loop's concurrency per receiver matches. */
const MAX_IN_FLIGHT = 10
const WARM_SECONDS = 2
const ROUNDS = Number(process.env.BENCH_OUTBOUND_ROUNDS ?? 2)
const WARMUP_SECONDS = Number(process.env.BENCH_OUTBOUND_WARMUP ?? 10)
/** A subscription change reaches the dispatcher within a second (its cache poll). */
const SETTLE_MS = 1500
const TIMEOUT_MS = 3000
const SCHEDULE = '1,2,3,5,8'
// A built checkout (e.g. /tmp/sluice-base) to start the engine from instead of this one: the
// baseline's numbers in the same sitting, run by the same bench code (alternate the two runs).
const ENGINE_DIR = process.env.BENCH_OUTBOUND_ENGINE_DIR || undefined

function checkKnobs(): void {
  const positive = { ROUNDS, KEYS, KEY_RUN, ORDERED_WINDOW, FLAKY_EVENTS }
  for (const [k, v] of Object.entries(positive)) {
    if (!Number.isSafeInteger(v) || v < 1) {
      throw new Error(`BENCH_OUTBOUND_${k} must be a positive integer`)
    }
  }
  const unknown = PARTS.filter((p) => !['a', 'b', 'c', 'd', 'e'].includes(p))
  if (unknown.length > 0 || PARTS.length === 0) {
    throw new Error('BENCH_OUTBOUND_PARTS must list some of a,b,c,d,e (default all)')
  }
}

/**
 * Issue 11: outbound delivery through the whole engine (webhook -> journal -> local queue ->
 * workers' store with fan-out -> dispatcher thread -> receivers) against a bare undici loop;
 * the same with hanging, slow and failing subscribers beside the healthy ones; one event to
 * 1,000 subscriptions. Issue 17: (d) the healthy subscriptions ordered by a key with 100 values
 * against the same unordered; (e) a receiver answering one request in three per message.
 * Everything on 127.0.0.1, a fresh database dropped at the end. Run order: (a)/(b) rounds, (d),
 * (e), then (c), whose 1,000 subscriptions would otherwise sit in every later claim.
 */
export const outboundSection: BenchSection = {
  name: 'outbound',
  description: `${HEALTHY} receivers (200 after 5 ms), ${SECONDS} s closed loops of ${WINDOW} events: bare undici vs engine, + ${HOSTILE_EACH} hanging/slow/failing each, 1 event to ${FAN_OUT} subscriptions; ordered (${KEYS} keys, loop of ${ORDERED_WINDOW}) vs unordered; ${FLAKY_EVENTS} events to a 1-in-3 receiver (parts ${PARTS.join(',')})`,
  async run(ctx: BenchContext): Promise<SectionResult> {
    checkKnobs()
    const part = (p: string) => PARTS.includes(p)
    const farm = new ReceiverFarm()
    const db = await freshDatabase('sluice_bench_outbound')
    let engine: RunningEngine | null = null
    try {
      const healthy = await farm.add('healthy', HEALTHY)
      for (const b of HOSTILE) await farm.add(b, HOSTILE_EACH)
      const bareSpec = {
        urls: healthy.map((r) => r.url()),
        perUrl: MAX_IN_FLIGHT,
        warmSeconds: WARM_SECONDS,
        seconds: SECONDS,
        body: eventBody('bench.event', 0, BODY_BYTES),
      }
      const bareRun = (when: string) => {
        ctx.log(
          `(a) bare undici loop ${when}, ${MAX_IN_FLIGHT} in flight per receiver, ${SECONDS} s`,
        )
        return withRunnerCpu(() => runBare(ctx, bareSpec))
      }
      const bare = part('a') ? [await bareRun('before the engine starts')] : []

      const token = randomBytes(24).toString('hex')
      const adminPort = await deadPort()
      engine = await startEngine(
        ctx,
        {
          DATABASE_URL: db.url,
          SLUICE_BROKER: 'local',
          SLUICE_WORKERS: '2',
          SLUICE_ADMIN_PORT: String(adminPort),
          SLUICE_ADMIN_TOKEN: token,
          SLUICE_OUTBOUND_ALLOW: '127.0.0.0/8',
          SLUICE_DELIVERY_TIMEOUT_MS: String(TIMEOUT_MS),
          SLUICE_DELIVERY_SCHEDULE: SCHEDULE,
          // Events are forwarded at once; holding them during ingest bursts is another section's.
          SLUICE_BURST_LAG_MS: '0',
        },
        ENGINE_DIR ? resolve(ENGINE_DIR) : ctx.root,
      )
      if (ENGINE_DIR) ctx.log(`engine started from ${resolve(ENGINE_DIR)}`)
      await engine.pipelineUp()
      const pid = engine.pid ?? 0
      const admin = adminClient(`http://127.0.0.1:${adminPort}`, token)
      const sub = (url: string) => ({
        url,
        eventTypes: ['bench.event'],
        maxInFlight: MAX_IN_FLIGHT,
      })
      const healthyIds = await admin.subscribe(healthy.map((r) => sub(r.url())))
      await sleep(SETTLE_MS)
      const spec: DriveSpec = {
        webhook: `${engine.base}/webhook`,
        healthy: HEALTHY,
        window: WINDOW,
        warmSeconds: WARM_SECONDS,
        seconds: SECONDS,
        drainMs: 15_000,
        bodyBytes: BODY_BYTES,
      }
      const where = { pid, databaseUrl: db.url }
      // Unmeasured: the first seconds after start are slower (JIT, first plans on empty tables).
      ctx.log(`warm-up: the (a) load for ${WARMUP_SECONDS} s, not measured`)
      await drive(farm, { ...spec, warmSeconds: 0, seconds: WARMUP_SECONDS })
      const ab = await hostileRounds(ctx, farm, {
        a: part('a'),
        b: part('b'),
        rounds: ROUNDS,
        hostile: HOSTILE,
        sub,
        admin,
        databaseUrl: db.url,
        run: () => engineRun(farm, spec, where),
        // Again with the engine idle: the machine is shared, so the better of two is the limit.
        afterFirstA: async () => void bare.push(await bareRun('with the engine idle')),
        settleMs: SETTLE_MS,
        timeoutMs: TIMEOUT_MS,
        label: { healthy: HEALTHY, seconds: SECONDS },
      })
      const ordered = part('d')
        ? await orderedRounds(ctx, farm, {
            spec: { ...spec, window: ORDERED_WINDOW, drainMs: 30_000 },
            admin,
            ids: healthyIds,
            keys: KEYS,
            keyRun: KEY_RUN,
            rounds: ROUNDS,
            settleMs: SETTLE_MS,
            engine: where,
          })
        : null
      if (part('e')) ctx.log(`(e) ${FLAKY_EVENTS} events at once to a receiver answering 1 in 3`)
      const flaky = part('e')
        ? await flakyRun(farm, {
            webhook: spec.webhook,
            admin,
            databaseUrl: db.url,
            n: FLAKY_EVENTS,
            bodyBytes: BODY_BYTES,
            maxInFlight: MAX_IN_FLIGHT,
            schedule: SCHEDULE.split(',').map(Number),
            settleMs: SETTLE_MS,
            timeoutMs: 180_000,
          })
        : null
      if (part('c')) ctx.log(`(c) one event of ${FAN_OUT_BYTES} B to ${FAN_OUT} subscriptions`)
      const fan = part('c')
        ? await fanOut(farm, {
            webhook: spec.webhook,
            admin,
            n: FAN_OUT,
            bodyBytes: FAN_OUT_BYTES,
            settleMs: SETTLE_MS,
            timeoutMs: 60_000,
            engine,
          })
        : null
      const config = {
        ENGINE_DIR: ENGINE_DIR ?? 'this checkout',
        HEALTHY,
        HOSTILE_EACH,
        MAX_IN_FLIGHT,
        WINDOW,
        SECONDS,
        ROUNDS,
        BODY_BYTES,
      }
      return t.sectionResult({
        config: {
          ...config,
          ...{ WARM_SECONDS, WARMUP_SECONDS, TIMEOUT_MS, SCHEDULE, FAN_OUT_BYTES },
          ...{ KEYS, KEY_RUN, ORDERED_WINDOW, FLAKY_EVENTS },
        },
        parts: PARTS,
        bare,
        a: ab.a,
        b: ab.b,
        hostileRequests: ab.requests,
        kinds: ab.kinds,
        fan,
        ordered,
        flaky,
        wholeRunPeakRssBytes: engine.peakRss(),
      })
    } finally {
      await engine?.close()
      await farm.close()
      await db.drop()
    }
  },
}
