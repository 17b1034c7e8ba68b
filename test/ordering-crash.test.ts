import t from 'tap'
import { Agent } from 'node:http'
import { deliveryEngine } from './helpers/delivery-engine.js'
import { failOnLeaks } from './helpers/leaks.js'
import { orderedReceiver } from './helpers/ordered-receiver.js'
import { post } from './helpers/post.js'
import { until } from './helpers/wait.js'

const KEYS = 10
const PER_KEY = 30

// Ordered delivery through the whole engine, killed with -9 mid-stream: every event of a key
// reaches the receiver after its predecessor was answered 2xx, and never beside it, although the
// workers store batches in any order, one event is stored after its successor (a failed attempt,
// retried), the receiver fails 30 % of requests, and the restarted engine finds some events
// still in its journal or queue and some deliveries leased by the dead one.
t.test(
  'ordered delivery survives kill -9: no event before its predecessor succeeded',
  async (t) => {
    const { engine, pool, subscribe } = await deliveryEngine(t, 'sluice_ordering_crash', {
      SLUICE_DELIVERY_SCHEDULE: Array(12).fill(1).join(','),
      SLUICE_BURST_LAG_MS: '0',
    })
    const { rx, violations, delivered } = await orderedReceiver(() => false)
    const agent = new Agent({ keepAlive: true, maxSockets: KEYS })
    t.teardown(async () => {
      agent.destroy()
      await rx.close()
    })
    // One event's store fails for a whole processing attempt (the batch statement, the batch with
    // JSON.parse deciding, then its row alone): the consumer retries it after a delay, and its successor
    // of the same key, posted after it, is stored first. A sequence, since a failed insert rolls
    // back anything else it writes.
    await pool.query(`CREATE SEQUENCE held_once;
    CREATE FUNCTION hold_once() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF NEW.id = 'c0-5' THEN
        IF nextval('held_once') <= 3 THEN RAISE EXCEPTION 'held once for the test'; END IF;
      END IF;
      RETURN NEW;
    END $$;
    CREATE TRIGGER hold_once BEFORE INSERT ON events FOR EACH ROW EXECUTE FUNCTION hold_once();`)
    await subscribe({ url: rx.url(), ordering: { key: '/customer' }, maxInFlight: 20 })

    // A sender per key, each waiting for its 200 before the next event: that fixes receipt order.
    const acked = new Map<string, number>()
    const sender = async (customer: string) => {
      for (let seq = 0; seq < PER_KEY; seq++) {
        const body = JSON.stringify({ type: 'ord', customer, seq })
        for (const deadline = Date.now() + 120_000; ;) {
          if (Date.now() > deadline) throw new Error(`gave up posting ${customer}/${seq}`)
          const res = await post(
            engine.url,
            body,
            { 'idempotency-key': `${customer}-${seq}` },
            agent,
          ).catch(() => null)
          if (res?.status === 200) break
          await new Promise((r) => setTimeout(r, 50))
        }
        acked.set(customer, seq + 1)
      }
    }
    const customers = Array.from({ length: KEYS }, (_, i) => `c${i}`)
    const posting = Promise.all(customers.map(sender))
    await until('40 % delivered', () => delivered.length >= KEYS * PER_KEY * 0.4, 120_000, 5)
    const atKill = delivered.length
    t.equal(await engine.kill9(), 'SIGKILL', 'the engine died of SIGKILL')
    await engine.start()
    await posting
    t.equal(
      [...acked.values()].reduce((a, b) => a + b, 0),
      KEYS * PER_KEY,
      'every event acknowledged (senders retry through the restart)',
    )
    const firsts = () => new Set(delivered.map((b) => `${b.customer}/${b.seq}`))
    await until('every event delivered', () => firsts().size === KEYS * PER_KEY, 180_000, 100)
    t.ok(atKill < KEYS * PER_KEY, `killed mid-stream (${atKill} delivered before)`)
    for (const c of customers) {
      const seqs = delivered.filter((b) => b.customer === c).map((b) => b.seq)
      const firstTimes = seqs.filter((s, i) => seqs.indexOf(s) === i)
      t.same(firstTimes, [...Array(PER_KEY).keys()], `${c}: first deliveries in receipt order`)
    }
    const held = await pool.query<{ n: string }>('SELECT last_value AS n FROM held_once')
    t.ok(Number(held.rows[0]!.n) >= 4, 'c0-5 was stored on a later attempt than its successor')
    t.same(
      violations,
      [],
      'no event of a key arrived before its predecessor succeeded, or beside it',
    )
    t.comment(`${delivered.length} successful requests for ${KEYS * PER_KEY} events`)
  },
)

failOnLeaks(t)
