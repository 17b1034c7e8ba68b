import t from 'tap'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { dispatchDb, receiver, type DispatchDb, testDispatcher } from './helpers/dispatch.js'
import { failOnLeaks } from './helpers/leaks.js'
import { seeded } from './helpers/ordered-receiver.js'
import { until } from './helpers/wait.js'

// Receivers that fail some requests must receive every event within the retry schedule, while a
// dead one beside them is paused and probed. The measurement before flow control: the
// one answering 2xx to one request in three received 0 of 300 events in 90 s.

let db: DispatchDb
t.before(async () => {
  db = await dispatchDb('sluice_outbound_flaky')
})

// Ten attempts over 46 s: enough that a 30 % failure rate misses an event with odds of 6e-6,
// and that a receiver refusing connections for 20 s is reached within the schedule.
const SCHEDULE = [1, 1, 2, 2, 4, 4, 8, 8, 16]
// The pause after 10 failures in a row as in production, over 5 s instead of 30 (time).
const FLOW = { pauseAfterMs: 5000, probeIntervalMs: 2000 }
const N = 60

const status = (res: ServerResponse, code: number, headers: Record<string, string> = {}) => {
  res.writeHead(code, headers)
  res.end()
}

/** Listens on `port` from `at` on, answering 200; connections before that are refused. */
function lateListener(port: number, at: number) {
  const received: string[] = []
  const server = createServer((req: IncomingMessage, res) => {
    received.push(String(req.headers['webhook-id']))
    req.resume().on('end', () => status(res, 200))
  })
  const timer = setTimeout(() => server.listen(port, '127.0.0.1'), at - Date.now())
  return {
    received,
    close: () => {
      clearTimeout(timer)
      server.closeAllConnections()
      return new Promise<void>((r) => (server.listening ? server.close(() => r()) : r()))
    },
  }
}

async function freePort(): Promise<number> {
  const probe = createServer()
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r))
  const { port } = probe.address() as AddressInfo
  await new Promise<void>((r) => probe.close(() => r()))
  return port
}

t.test('flaky receivers get every event; a dead one is paused and probed', async (t) => {
  const seen = new Map<string, number>()
  const oneInThree = await receiver((r, res) => {
    const id = String(r.headers['webhook-id'])
    const n = (seen.get(id) ?? 0) + 1
    seen.set(id, n)
    status(res, n % 3 === 0 ? 200 : 503)
  })
  const random = seeded(17)
  const thirtyPercent = await receiver((_r, res) => status(res, random() < 0.3 ? 500 : 200))
  // 503 with Retry-After: 1 for the first 2 s of every 6 s, from now.
  const t0 = Date.now()
  const bursts = await receiver((_r, res) =>
    (Date.now() - t0) % 6000 < 2000 ? status(res, 503, { 'retry-after': '1' }) : status(res, 200),
  )
  const dead = await receiver((_r, res) => status(res, 500))
  const port = await freePort()
  const started = Date.now()
  const refused = lateListener(port, started + 20_000)
  t.teardown(async () => {
    await Promise.all([oneInThree, thirtyPercent, bursts, dead].map((r) => r.close()))
    await refused.close()
  })
  const subscribe = (url: string) => db.subscribe({ url, eventTypes: ['flaky'] })
  const subs = {
    oneInThree: await subscribe(oneInThree.url()),
    thirtyPercent: await subscribe(thirtyPercent.url()),
    bursts: await subscribe(bursts.url()),
    refused: await subscribe(`http://127.0.0.1:${port}/hook`),
    dead: await subscribe(dead.url()),
  }
  await testDispatcher(t, db, { schedule: SCHEDULE, flow: FLOW }).start()
  await db.store(
    Array.from({ length: N }, (_, i) => ({
      id: `f${i}`,
      body: Buffer.from(JSON.stringify({ type: 'flaky', i })),
    })),
  )

  const counts = async (id: string) =>
    (
      await db.pool.query<{ status: string; n: number }>(
        `SELECT status, count(*)::int AS n FROM deliveries WHERE subscription_id = $1 GROUP BY 1`,
        [id],
      )
    ).rows.reduce<Record<string, number>>((m, r) => ({ ...m, [r.status]: r.n }), {})
  const live = ['oneInThree', 'thirtyPercent', 'bursts', 'refused'] as const
  const doneIn: Record<string, number> = {}
  await until(
    'the flaky ones settled',
    async () => {
      for (const name of live) {
        const c = await counts(subs[name].id)
        if ((c.succeeded ?? 0) + (c.failed ?? 0) === N) doneIn[name] ??= Date.now() - started
      }
      return live.every((name) => doneIn[name] !== undefined)
    },
    120_000,
  )
  for (const name of live) {
    t.same(await counts(subs[name].id), { succeeded: N }, `${name}: every event, none failed`)
  }
  t.equal(new Set(refused.received).size, N, 'the refusing one got them all once it listened')

  const probes = async () =>
    (
      await db.pool.query<{ at: Date }>(
        `SELECT attempted_at AS at FROM delivery_attempts
          WHERE subscription_id = $1 AND probe ORDER BY attempted_at`,
        [subs.dead.id],
      )
    ).rows.map((r) => r.at.getTime())
  await until('the dead one was probed twice', async () => (await probes()).length >= 2, 60_000)
  const paused = await db.pool.query<{ paused_at: Date | null }>(
    'SELECT paused_at FROM subscriptions WHERE id = $1',
    [subs.dead.id],
  )
  t.ok(paused.rows[0]!.paused_at, 'the dead one is paused')
  const at = await probes()
  t.ok(at[1]! - at[0]! >= 1800, `probes an interval apart (${at[1]! - at[0]!} ms)`)
  t.same(await counts(subs.dead.id), { pending: N }, 'its deliveries wait, none failed')
  t.comment(`all delivered after (ms): ${JSON.stringify(doneIn)}`)
})

failOnLeaks(t, { closeFirst: () => db.drop() })
