import t from 'tap'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { AMQP_URL, deleteRabbitTopology } from './helpers/broker-fixtures.js'
import { EngineChild } from './helpers/engine-child.js'
import { failOnLeaks } from './helpers/leaks.js'
import { freshDatabase, waitForMigrations } from './helpers/pg.js'
import { postMany } from './helpers/post.js'
import { until } from './helpers/wait.js'

/** Events posted to each node. */
const PER_NODE = Number(process.env.SCALE_OUT_EVENTS ?? 1500)

interface Node {
  name: 'a' | 'b'
  engine: EngineChild
  dataDir: string
}

/** The node's journal backlog from /readyz, or null while it is down or restarting. */
async function backlog(engine: EngineChild): Promise<number | null> {
  try {
    const res = await fetch(`http://127.0.0.1:${engine.port}/readyz`)
    const body = (await res.json()) as { checks: { journal?: { backlog?: number } } }
    return body.checks.journal?.backlog ?? null
  } catch {
    return null
  }
}

t.test(
  'two nodes on one RabbitMQ queue and one Postgres, one killed -9 mid-stream and restarted: every 200 of either is exactly one row',
  async (t) => {
    const queue = `sluice.test.scale-out-${process.pid}-${Date.now().toString(36)}`
    const db = await freshDatabase('sluice_scale_out')
    const shared = {
      SLUICE_BROKER: 'rabbitmq',
      AMQP_URL,
      SLUICE_QUEUE: queue,
      DATABASE_URL: db.url,
      SLUICE_WORKERS: '2',
    }
    const nodes: Node[] = (['a', 'b'] as const).map((name) => {
      const dataDir = mkdtempSync(join(tmpdir(), `sluice-scale-out-${name}-`))
      return { name, dataDir, engine: new EngineChild({ ...shared, SLUICE_DATA_DIR: dataDir }) }
    })
    const [a, b] = nodes as [Node, Node]
    const pool = new pg.Pool({ connectionString: db.url, max: 2 })
    t.teardown(async () => {
      for (const n of nodes) await n.engine.kill9()
      await pool.end()
      await deleteRabbitTopology(queue)
      await db.drop()
      for (const n of nodes) rmSync(n.dataDir, { recursive: true, force: true })
    })

    // Started together: both migrate the shared database at once and declare the same queue.
    await Promise.all(nodes.map((n) => n.engine.start()))
    t.not(a.engine.port, b.engine.port, 'each node listens on its own port')
    // A node answers 200 from its journal as soon as it listens; its pipeline thread migrates
    // and starts consuming after that (seconds under load, the sources under tap's loader).
    // Posting only once the schema is there puts node A's kill where this test wants it, while
    // both nodes consume, and the count below never queries tables that do not exist yet.
    await waitForMigrations(pool, 300_000)

    let killed = false
    // The signal node A died of when the test killed it, and whether it came back.
    let killedBy: NodeJS.Signals | null = null
    let restarted = false
    const faults: Promise<void>[] = []
    const deadline = Date.now() + 400_000
    const [ackedA, ackedB] = await Promise.all(
      nodes.map((n) =>
        postMany({
          url: () => n.engine.url,
          count: PER_NODE,
          concurrency: 8,
          idPrefix: `scale-${n.name}`,
          deadline,
          onProgress: (acked) => {
            // Node A dies while both nodes take posts, forward and consume; its senders retry
            // (same keys) against its new port once it is back on the same data directory.
            if (n !== a || killed || acked < PER_NODE * 0.4) return
            killed = true
            const restart = a.engine
              .kill9()
              .then((signal) => {
                killedBy = signal
                return a.engine.start()
              })
              .then(() => {
                restarted = true
              })
            restart.catch(() => {}) // reported by Promise.all(faults) below
            faults.push(restart)
          },
        }),
      ),
    )
    await Promise.all(faults)
    t.equal(killedBy, 'SIGKILL', 'node A was killed with SIGKILL mid-stream')
    t.ok(restarted, 'and restarted on its data directory')
    t.equal(ackedA!.size, PER_NODE, 'node A acknowledged all its events (senders retry)')
    t.equal(ackedB!.size, PER_NODE, 'node B acknowledged all its events')

    const rows = async (prefix: string) =>
      (
        await pool.query<{ n: number; d: number }>(
          `SELECT count(*)::int AS n, count(DISTINCT (source, id))::int AS d FROM events WHERE id LIKE $1`,
          [`${prefix}%`],
        )
      ).rows[0]!
    await until(
      'every acknowledged event is a row',
      async () => (await rows('scale-')).d >= ackedA!.size + ackedB!.size,
      300_000,
      250,
    )
    for (const [node, acked] of [
      [a, ackedA!],
      [b, ackedB!],
    ] as const) {
      const { n, d } = await rows(`scale-${node.name}-`)
      t.equal(d, acked.size, `every event node ${node.name} acknowledged is stored`)
      t.equal(n, d, `node ${node.name}'s events: exactly one row each`)
      const missing = await pool.query<{ m: number }>(
        `SELECT count(*)::int AS m FROM unnest($1::text[]) AS a(id) WHERE NOT EXISTS (SELECT 1 FROM events e WHERE e.source = 'default' AND e.id = a.id)`,
        [[...acked]],
      )
      t.equal(missing.rows[0]!.m, 0, `no id node ${node.name} acknowledged is missing`)
    }
    const all = await rows('scale-')
    t.equal(all.n, PER_NODE * 2, 'no other rows, no duplicates across the nodes')

    for (const node of nodes) {
      await until(
        `node ${node.name}'s journal has nothing left to forward`,
        async () => (await backlog(node.engine)) === 0,
        120_000,
        250,
      )
    }
    const codes = await Promise.all(nodes.map((n) => n.engine.stop()))
    t.same(codes, [0, 0], 'both nodes stop gracefully')
  },
)

failOnLeaks(t)
