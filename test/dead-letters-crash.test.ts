import t from 'tap'
import { spawn } from 'node:child_process'
import { listDeadLetters } from '../src/db/dead-letters.js'
import { onJsonLines } from '../bench/proc.js'
import { FAKE_AWS_ENV, fixtures, makeEvent } from './helpers/broker-fixtures.js'
import { migratedOn } from './helpers/consumer-setup.js'
import { until } from './helpers/wait.js'
import { failOnLeaks } from './helpers/leaks.js'

const child = new URL('./helpers/dead-letter-child.ts', import.meta.url).pathname
const loaderArgs = process.execArgv.filter((a) => a.includes('@tapjs/typescript'))

/** Run the consumer child until it logged `until`, or until it died (crash mode). */
function runChild(args: string[], stop: 'crash' | 'drain') {
  const p = spawn(process.execPath, [...loaderArgs, child, ...args, stop], {
    env: { ...process.env, ...FAKE_AWS_ENV },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  const lines: Record<string, unknown>[] = []
  onJsonLines(p.stdout, (l) => lines.push(l))
  const exited = new Promise<NodeJS.Signals | number | null>((r) =>
    p.once('exit', (code, signal) => r(signal ?? code)),
  )
  return { p, lines, exited }
}

/**
 * The broker conformance suite's last guarantee, with the consumer that owns the policy: the
 * dead-letter table receives exactly the events that exhausted their attempts, once each, even
 * when the process is killed (-9) between the dead-letter commit and the broker ack.
 */
for (const fixture of fixtures) {
  t.test(`${fixture.name}: dead letters once each across a kill -9 before the ack`, async (t) => {
    const { db, h, pool } = await migratedOn(t, fixture, 'sluice_dl_crash')
    // The operator's bug: a trigger refusing some events, so they exhaust their attempts.
    await pool.query(`CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN IF NEW.id LIKE 'poison-%' THEN RAISE EXCEPTION 'refused by trigger'; END IF;
      RETURN NEW; END $$`)
    await pool.query(
      'CREATE TRIGGER refuse BEFORE INSERT ON event_keys FOR EACH ROW EXECUTE FUNCTION refuse()',
    )
    const good = Array.from({ length: 20 }, (_, i) => makeEvent({ id: `good-${i}` }))
    const poison = Array.from({ length: 10 }, (_, i) => makeEvent({ id: `poison-${i}` }))
    const publisher = h.make()
    await publisher.start()
    await publisher.publish([...good, ...poison])
    await publisher.close()

    const args = [JSON.stringify(h.choice()), db.url]
    const first = runChild(args, 'crash')
    t.equal(await first.exited, 'SIGKILL', 'killed itself right after a dead-letter commit')
    const committed = await listDeadLetters(pool)
    t.ok(committed.length > 0, `${committed.length} dead letters committed before the kill`)

    // Restart consumers until the broker is empty: one stopped while deliveries wait in its
    // hands gives them back, and the next takes them. What they dead-letter, by event id.
    const againIds = new Set<string>()
    for (let round = 1; ; round++) {
      const drain = runChild(args, 'drain')
      t.teardown(() => {
        if (drain.p.exitCode === null && drain.p.signalCode === null) drain.p.kill('SIGKILL')
      })
      await until('the consumer runs', () => drain.lines.some((l) => l.consuming))
      await until('every poison event is a dead letter', async () => {
        return (await listDeadLetters(pool)).length === poison.length
      })
      await until('every good event is a row', async () => {
        const { rows } = await pool.query<{ n: number }>(
          "SELECT count(*)::int AS n FROM events WHERE source <> 'sluice'",
        )
        return rows[0]!.n === good.length
      })
      // A message the killed consumer had taken is invisible until its visibility timeout (SQS)
      // or lease (local) runs out: give this consumer the time to take it too.
      // Not every consumer sees it: the next round does, and the assertions below say if none did.
      const emptied = await until(
        'the broker is empty',
        async () => (await h.depth()) === 0,
        15_000,
      ).then(
        () => true,
        () => false,
      )
      if (!emptied) t.comment(`round ${round}: the broker still held messages after 15 s`)
      const seen = drain.lines.length
      await until('it holds nothing', () => drain.lines.slice(seen).some((l) => l.idle))
      drain.p.kill('SIGTERM')
      t.equal(await drain.exited, 0, `consumer ${round} stopped cleanly`)
      for (const line of drain.lines) {
        for (const id of (line.ids as string[] | undefined) ?? []) againIds.add(id)
      }
      if ((await h.depth()) === 0 || round === 5) break
    }

    // The killed consumer never acked the batch it had dead-lettered: the broker gave it back
    // and a later consumer dead-lettered those events again, which the table took as the same rows.
    const killedBatch = committed.map((l) => l.event.id).sort()
    t.same(
      killedBatch.filter((id) => againIds.has(id)),
      killedBatch,
      'every event dead-lettered before the kill came back and was dead-lettered again',
    )
    const letters = await listDeadLetters(pool, { limit: 1000 })
    t.same(
      letters.map((l) => l.event.id).sort(),
      poison.map((e) => e.id).sort(),
      'exactly the poison events, once each',
    )
    t.ok(
      letters.every(
        (l) =>
          l.reason === 'attempts_exhausted' &&
          /refused by trigger|without being settled/.test(l.lastError),
      ),
      'each with why it was given up',
    )
    const { rows } = await pool.query<{ n: number; d: number }>(
      "SELECT count(*)::int AS n, count(DISTINCT id)::int AS d FROM events WHERE source <> 'sluice'",
    )
    t.same(rows[0], { n: good.length, d: good.length }, 'good events stored once, none lost')
    const told = await pool.query<{ id: string }>(
      `SELECT payload #>> '{event,id}' AS id FROM events
        WHERE source = 'sluice' AND type = 'dead_letter.created'`,
    )
    t.same(
      told.rows.map((r) => r.id).sort(),
      poison.map((e) => e.id).sort(),
      'one dead_letter.created event each, the dead letter written again after the kill told once',
    )
    t.equal(await h.depth(), 0, 'nothing is left in the broker: every message was acked')
  })
}

failOnLeaks(t)
