import t from 'tap'
import { webhookId } from '../src/dispatcher/request.js'
import { receiver } from './helpers/dispatch.js'
import { deliveryEngine } from './helpers/delivery-engine.js'
import { failOnLeaks } from './helpers/leaks.js'
import { freePort, OwnPostgres } from './helpers/own-postgres.js'
import { post } from './helpers/post.js'
import { until } from './helpers/wait.js'
import { Agent } from 'node:http'

const CYCLES = Number(process.env.PG_RESTART_CYCLES ?? 3)
const LONG_OUTAGE_MS = 20_000
const TOKEN = 'pg-restart-token-0123456789abcdef'
const PATHS = ['/a', '/b'] // two subscriptions: every event is delivered twice

interface Check {
  ok: boolean
  state?: string
  consumer?: string | null
  listening?: boolean | null
}
interface Ready {
  status: string
  checks: { database: Check; dispatcher?: Check }
}

/**
 * Issue 18 item 3: Postgres (the test's own server, never the shared one) killed with -9, all
 * its processes at once (twice, the second outage outlasting every lease), then stopped with
 * `-m immediate`, each while events are being stored and deliveries are in flight, and started
 * again on the same data (crash recovery). Ingest keeps acknowledging from the journal;
 * /readyz and /v1/status show the database, the consumer and the dispatcher down and then back
 * by themselves; in the end every acknowledged event is one row, every event reached both
 * subscriptions at least once, and no delivery is left leased or overdue.
 */
t.test('Postgres killed and restarted under inbound and outbound load', async (t) => {
  let at = Date.now()
  const own = await OwnPostgres.create()
  t.teardown(() => own.destroy())
  const initdbMs = Date.now() - at
  at = Date.now()
  await own.start()
  const startMs = Date.now() - at
  const adminPort = await freePort()
  const { engine, pool, subscribe } = await deliveryEngine(
    t,
    'sluice_pg_restart',
    {
      SLUICE_DELIVERY_SCHEDULE: '1,1,1,1,1,1,1,1,1,1',
      SLUICE_ADMIN_PORT: String(adminPort),
      SLUICE_ADMIN_TOKEN: TOKEN,
    },
    // The server's own database: the whole cluster goes with the test.
    { url: own.url, drop: async () => {} },
  )

  // Receipts per (path, webhook-id): how many, and when each arrived.
  const receipts = new Map<string, number[]>()
  let inFlight = 0
  const rx = await receiver((r, res) => {
    const key = `${r.url} ${String(r.headers['webhook-id'])}`
    receipts.set(key, [...(receipts.get(key) ?? []), r.at])
    inFlight++
    // Answers take a while, so deliveries are in flight when Postgres dies.
    setTimeout(
      () => {
        inFlight--
        res.end('ok')
      },
      20 + Math.random() * 80,
    )
  })
  t.teardown(() => rx.close())
  for (const path of PATHS) await subscribe({ url: rx.url(path), maxInFlight: 20 })

  // Senders post continuously, each event retried (same key) until it gets a 200.
  const acked = new Set<string>()
  let stopPosting = false
  let torn = false
  // A failed assertion must not leave the senders retrying into an engine that is gone.
  t.teardown(() => void (torn = stopPosting = true))
  let down = false
  let ackedWhileDown = 0
  const agent = new Agent({ keepAlive: true, maxSockets: 4 })
  let next = 0
  const sender = async () => {
    while (!stopPosting) {
      const id = `pgr-${next++}`
      const body = JSON.stringify({ type: 'test.event', id })
      for (;;) {
        const res = await post(engine.url, body, { 'idempotency-key': id }, agent).catch(() => null)
        if (res?.status === 200) break
        if (torn) return
        await new Promise((r) => setTimeout(r, 50))
      }
      acked.add(id)
      if (down) ackedWhileDown++
      // Steady load, not a flood: the test's length follows the deliveries to make.
      await new Promise((r) => setTimeout(r, 40))
    }
  }
  const posting = Promise.all([sender(), sender(), sender(), sender()])
  t.teardown(() => agent.destroy())

  const base = `http://127.0.0.1:${engine.port}`
  const readyz = async () => {
    const res = await fetch(`${base}/readyz`)
    return { code: res.status, body: (await res.json()) as Ready }
  }
  const status = async () => {
    const res = await fetch(`http://127.0.0.1:${adminPort}/v1/status`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    })
    return (await res.json()) as Ready
  }
  // Down: the ping fails, the consumer holds its batches, the dispatcher's claims and writes fail.
  const dbDown = (r: Ready) =>
    r.checks.database.state === 'down' &&
    r.checks.database.consumer === 'down' &&
    r.checks.dispatcher?.ok === false
  // Up: and the dispatcher LISTENs again (not only polling).
  const dbUp = (r: Ready) =>
    r.checks.database.state === 'up' &&
    r.checks.database.consumer === 'up' &&
    r.checks.dispatcher?.ok === true &&
    r.checks.dispatcher.listening === true

  const kills: number[] = []
  for (let cycle = 1; cycle <= CYCLES; cycle++) {
    const before = receipts.size
    await until(
      `cycle ${cycle}: deliveries in flight and events being stored`,
      () => receipts.size >= before + 150 && inFlight > 0,
      120_000,
      5,
    )
    const storedAtKill = await storedCount()
    const receivedAtKill = receipts.size
    const inFlightAtKill = inFlight
    // Cycles 1 and 2: kill -9 of every process; cycle 3: an immediate stop (SIGQUIT), as by
    // `pg_ctlcluster ... stop -m immediate`. Both leave crash recovery to the start.
    const how = cycle % 3 === 0 ? 'stop -m immediate' : 'kill -9'
    if (cycle % 3 === 0) await own.stopImmediate()
    else await own.kill9()
    kills.push(Date.now())
    down = true
    const ackedAtKill = acked.size
    let last: Ready | null = null
    await until(
      `cycle ${cycle}: /readyz shows the database, consumer and dispatcher down`,
      async () => dbDown((last = (await readyz()).body)),
      120_000,
      100,
    ).catch((err: Error) => {
      throw new Error(`${err.message}; last: ${JSON.stringify(last)}`)
    })
    t.pass(`cycle ${cycle}: /readyz shows the database, consumer and dispatcher down`)
    t.equal((await readyz()).code, 200, `cycle ${cycle}: /readyz stays 200: the journal accepts`)
    await until(`cycle ${cycle}: /v1/status (the page's data) shows it down`, async () =>
      dbDown(await status()),
    )
    t.pass(`cycle ${cycle}: /v1/status (the page's data) shows it down`)
    await until(
      `cycle ${cycle}: events acknowledged while Postgres is down`,
      () => acked.size >= ackedAtKill + 50,
    )
    t.pass(`cycle ${cycle}: events acknowledged while Postgres is down`)
    // The second outage outlasts a lease (SLUICE_DELIVERY_TIMEOUT_MS plus the dispatcher's 10 s
    // margin): the leases of the deliveries in flight at the kill run out while Postgres is away.
    if (cycle === 2)
      await new Promise((r) => setTimeout(r, LONG_OUTAGE_MS - (Date.now() - kills.at(-1)!)))
    const restarting = Date.now()
    await own.start()
    const restartMs = Date.now() - restarting
    down = false
    const ackedWhileOut = acked.size - ackedAtKill
    await until(
      `cycle ${cycle}: /readyz shows everything up again by itself`,
      async () => dbUp((last = (await readyz()).body)),
      120_000,
      100,
    ).catch((err: Error) => {
      throw new Error(`${err.message}; last: ${JSON.stringify(last)}`)
    })
    t.pass(`cycle ${cycle}: /readyz shows everything up again, LISTEN included`)
    await until(`cycle ${cycle}: /v1/status shows the recovery`, async () => dbUp(await status()))
    t.pass(`cycle ${cycle}: /v1/status (the page's data) shows the recovery`)
    t.comment(
      `cycle ${cycle} (${how}): at the kill ${storedAtKill} stored, ${receivedAtKill} receipts, ` +
        `${inFlightAtKill} in flight; Postgres down ${restarting - kills.at(-1)!} ms, its ` +
        `restart (crash recovery) ${restartMs} ms, /readyz all up ${Date.now() - restarting} ms ` +
        `after the restart began; ${ackedWhileOut} acked while it was down`,
    )
  }

  stopPosting = true
  await posting
  const ids = [...acked]
  await until(
    'every acknowledged event is stored',
    async () => (await storedCount()) >= ids.length,
    300_000,
    250,
  )
  const dup = await pool.query(
    "SELECT id FROM events WHERE source = 'default' GROUP BY id HAVING count(*) > 1",
  )
  t.equal(dup.rowCount, 0, 'no event stored twice')
  const stored = await storedCount()
  t.equal(stored, ids.length, 'every acknowledged event is one row, and nothing else')
  const expected = ids.flatMap((id) => PATHS.map((p) => `${p} ${webhookId('default', id)}`))
  await until(
    'every delivery reached its receiver',
    () => expected.every((k) => receipts.has(k)),
    300_000,
    250,
  ).catch(async (err: Error) => {
    const missing = expected.filter((k) => !receipts.has(k)).length
    throw new Error(`${err.message}: ${missing} missing; ${await deliveryStates()}`)
  })
  await until(
    'every delivery is recorded as succeeded',
    async () => {
      const r = await pool.query("SELECT 1 FROM deliveries WHERE status = 'succeeded'")
      return r.rowCount === expected.length
    },
    120_000,
  ).catch(async (err: Error) => {
    throw new Error(`${err.message}: ${await deliveryStates()}`)
  })
  const left = await pool.query<{ leased: number; overdue: number; total: number }>(
    `SELECT count(*) FILTER (WHERE lease_owner IS NOT NULL AND status = 'pending')::int AS leased,
            count(*) FILTER (WHERE status = 'pending')::int AS overdue,
            count(*)::int AS total
       FROM deliveries`,
  )
  t.same(left.rows[0], { leased: 0, overdue: 0, total: expected.length }, 'none leased or stuck')
  const extra = [...receipts.values()].reduce((n, times) => n + times.length - 1, 0)
  const perCycle = kills.map(
    (k, i) =>
      [...receipts.values()].filter((times) => {
        const second = times[1]
        return second !== undefined && second >= k && second < (kills[i + 1] ?? Infinity)
      }).length,
  )
  t.comment(
    `own postgres: initdb ${initdbMs} ms, start ${startMs} ms; acked ${ids.length}, ` +
      `${ackedWhileDown} while down; stored ${stored}, duplicates ${dup.rowCount}; deliveries ` +
      `expected ${expected.length}, received ${receipts.size}, duplicate receipts ${extra} ` +
      `(second receipts after each kill: ${perCycle.join(', ')})`,
  )

  /** For a failed wait: the deliveries by state, and the engine's last words. */
  async function deliveryStates(): Promise<string> {
    const r = await pool.query(
      `SELECT status, lease_owner IS NOT NULL AS leased, lease_until < now() AS lease_over,
              next_attempt_at < now() AS due, attempts, count(*)::int AS n
         FROM deliveries GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5`,
    )
    return `${JSON.stringify(r.rows)}\n${engine.logTail()}`
  }

  async function storedCount(): Promise<number> {
    const r = await pool.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM events WHERE source = 'default'",
    )
    return r.rows[0]!.n
  }
})

failOnLeaks(t)
