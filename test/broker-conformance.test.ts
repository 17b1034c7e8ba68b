import t, { type Test } from 'tap'
import type { Broker } from '../src/brokers/types.js'
import {
  fixtures,
  Inbox,
  makeEvent,
  MAX_ATTEMPTS,
  type Harness,
} from './helpers/broker-fixtures.js'
import { failOnLeaks } from './helpers/leaks.js'

/**
 * One suite every broker adapter passes (after Watermill's pubsub tests): the same calls, the
 * same at-least-once guarantees, on a fresh queue per test.
 */
for (const fixture of fixtures) {
  t.test(fixture.name, async (t) => {
    /** A fresh queue and a tracker that closes every broker the test made. */
    async function fresh(t: Test): Promise<{ h: Harness; open: () => Promise<Broker> }> {
      const h = await fixture.setup()
      const brokers: Broker[] = []
      t.teardown(async () => {
        for (const b of brokers) await b.close()
        await h.cleanup()
      })
      return {
        h,
        open: async () => {
          const b = h.make()
          brokers.push(b)
          await b.start()
          t.equal(b.state(), 'up', 'state is up after start')
          return b
        },
      }
    }

    t.test('publish, consume and ack keep exact bytes and metadata', async (t) => {
      const { h, open } = await fresh(t)
      const b = await open()
      const events = [
        makeEvent(),
        makeEvent({
          body: Buffer.from([0, 1, 2, 255, 254, 0x80, 0x0a]),
          contentType: 'application/octet-stream',
        }),
        makeEvent({ verifiedBy: null, headers: {}, body: Buffer.alloc(0), source: 'default' }),
      ]
      t.same(await b.publish(events), [true, true, true])
      const inbox = await new Inbox(b).subscribe(10)
      for (let i = 1; i <= events.length; i++) await inbox.nth(i)
      const byId = new Map(inbox.received.map((d) => [d.event.id, d]))
      for (const e of events) {
        const d = byId.get(e.id)
        t.ok(d, `delivered ${e.id}`)
        t.same(d?.event, e, 'event round-trips exactly')
        t.ok(d?.event.body.equals(e.body), 'body bytes are identical')
        t.equal(d?.attempt, 1, 'first delivery is attempt 1')
      }
      await Promise.all(inbox.received.map((d) => d.ack()))
      await t.rejects(inbox.received[0]!.ack(), 'a delivery settles once')
      await b.close()
      t.equal(await h.depth(), 0, 'acked messages are gone')
    })

    t.test('publish answers one boolean per event', async (t) => {
      const { h, open } = await fresh(t)
      const b = await open()
      t.same(await b.publish([]), [])
      const many = Array.from({ length: 25 }, () => makeEvent())
      const results = await b.publish(many)
      t.equal(results.length, 25)
      t.ok(
        results.every((r) => r === true),
        'every event confirmed',
      )
      await b.close()
      t.equal(await h.depth(), 25, 'all 25 are in the queue')
    })

    t.test('a consumer that dies without acking: the message is delivered again', async (t) => {
      const { open } = await fresh(t)
      const first = await open()
      const e = makeEvent()
      await first.publish([e])
      const d1 = await (await new Inbox(first).subscribe(1)).nth(1)
      t.equal(d1.event.id, e.id)
      t.equal(d1.attempt, 1)
      await first.close()
      await t.rejects(d1.ack(), 'settling after close rejects')
      const second = await open()
      const d2 = await (await new Inbox(second).subscribe(1)).nth(1)
      t.equal(d2.event.id, e.id, 'the new consumer gets the same event')
      t.equal(d2.attempt, 2, 'and it counts as a second attempt')
      await d2.ack()
    })

    t.test('retry with a delay delivers again with attempt + 1', async (t) => {
      const { open } = await fresh(t)
      const b = await open()
      const e = makeEvent()
      await b.publish([e])
      const inbox = await new Inbox(b).subscribe(1)
      const d1 = await inbox.nth(1)
      await d1.retry(200, 'try later')
      const d2 = await inbox.nth(2)
      t.equal(d2.event.id, e.id)
      t.equal(d2.attempt, 2)
      t.same(d2.event, e, 'the retried copy is the same event')
      await d2.ack()
    })

    t.test('dead-lettered after the attempt limit, listed with its error, redriven', async (t) => {
      const { open } = await fresh(t)
      const b = await open()
      const e = makeEvent()
      await b.publish([e])
      const inbox = await new Inbox(b).subscribe(1)
      for (let i = 1; i <= MAX_ATTEMPTS; i++) {
        const d = await inbox.nth(i)
        t.equal(d.attempt, i, `attempt ${i}`)
        await d.retry(0, `failure ${i}`)
      }
      const dead = await b.deadLetters.list()
      t.equal(dead.length, 1, 'one dead letter')
      t.equal(dead[0]?.event.id, e.id)
      t.equal(dead[0]?.lastError, `failure ${MAX_ATTEMPTS}`, 'with the last error')
      t.equal(dead[0]?.attempts, MAX_ATTEMPTS)
      t.ok(dead[0]?.event.body.equals(e.body))
      t.equal((await b.deadLetters.list()).length, 1, 'listing does not consume')
      t.equal(await b.deadLetters.redrive(), 1, 'redrive moves it back')
      const again = await inbox.nth(MAX_ATTEMPTS + 1)
      t.equal(again.event.id, e.id, 'and it is consumed again')
      t.equal(again.attempt, 1, 'with a fresh attempt count')
      await again.ack()
      t.same(await b.deadLetters.list(), [], 'the DLQ is empty')
    })

    t.test('deadLetter() at once, redrive by id', async (t) => {
      const { open } = await fresh(t)
      const b = await open()
      const [p1, p2] = [makeEvent(), makeEvent()]
      await b.publish([p1, p2])
      const inbox = await new Inbox(b).subscribe(2)
      await (await inbox.nth(1)).deadLetter('poison: 1')
      await (await inbox.nth(2)).deadLetter('poison: 2')
      const dead = await b.deadLetters.list()
      t.same(dead.map((d) => d.event.id).sort(), [p1.id, p2.id].sort())
      t.ok(
        dead.every((d) => d.lastError?.startsWith('poison')),
        'errors are kept',
      )
      t.ok(
        dead.every((d) => typeof d.deadAt === 'number'),
        'with the time',
      )
      t.equal(await b.deadLetters.redrive(p2.id), 1, 'only the one asked for')
      const back = await inbox.nth(3)
      t.equal(back.event.id, p2.id)
      await back.ack()
      t.same(
        (await b.deadLetters.list()).map((d) => d.event.id),
        [p1.id],
        'the other stays dead',
      )
    })

    if (fixture.stopsCrashLoops) {
      t.test('consumers that keep dying: dead-lettered after the attempt limit', async (t) => {
        const { open } = await fresh(t)
        const e = makeEvent()
        await (await open()).publish([e])
        for (let i = 1; i <= MAX_ATTEMPTS; i++) {
          const b = await open()
          const d = await (await new Inbox(b).subscribe(1)).nth(1)
          t.equal(d.attempt, i, `delivery ${i} is attempt ${i}`)
          await b.close()
        }
        const last = await open()
        const inbox = await new Inbox(last).subscribe(1)
        let dead = await last.deadLetters.list()
        for (let i = 0; dead.length === 0 && i < 600; i++) {
          await new Promise((r) => setTimeout(r, 100))
          dead = await last.deadLetters.list()
        }
        t.equal(dead[0]?.event.id, e.id, 'it went to the dead letters')
        t.match(dead[0]?.lastError, /without being settled/)
        t.equal(inbox.received.length, 0, 'instead of being delivered again')
      })
    }

    t.test(
      'close while busy: in-flight deliveries come back; close twice, one promise',
      async (t) => {
        const { open } = await fresh(t)
        const b = await open()
        const events = Array.from({ length: 5 }, () => makeEvent())
        await b.publish(events)
        const inbox = await new Inbox(b).subscribe(5)
        await inbox.nth(5)
        const c1 = b.close()
        t.equal(b.close(), c1, 'second close returns the same promise')
        await c1
        t.equal(b.state(), 'closed')
        await t.rejects(b.publish([makeEvent()]), 'publish after close rejects')
        await t.rejects(inbox.received[0]!.ack(), 'settling after close rejects')
        const next = await open()
        const again = await new Inbox(next).subscribe(5)
        await again.nth(5)
        t.same(again.received.map((d) => d.event.id).sort(), events.map((e) => e.id).sort())
        await Promise.all(again.received.map((d) => d.ack()))
      },
    )
  })
}

failOnLeaks(t)
