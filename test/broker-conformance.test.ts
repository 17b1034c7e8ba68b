import t, { type Test } from 'tap'
import type { Broker } from '../src/brokers/types.js'
import { fixtures, Inbox, makeEvent, type Harness } from './helpers/broker-fixtures.js'
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
      t.equal(
        await h.depth(),
        Math.ceil(25 / fixture.eventsPerMessage),
        `all 25 are in the queue, ${fixture.eventsPerMessage} per message at most`,
      )
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

    t.test('retry never dead-letters: delivered again past any limit, attempt + 1', async (t) => {
      const { h, open } = await fresh(t)
      const b = await open()
      const e = makeEvent()
      await b.publish([e])
      const inbox = await new Inbox(b).subscribe(1)
      // Sluice 0.1's adapters dead-lettered after their own limit (3 in this suite); now only
      // the consumer decides, so an adapter retries for as long as it is asked to.
      for (let i = 1; i <= 7; i++) {
        const d = await inbox.nth(i)
        t.equal(d.attempt, i, `delivery ${i} is attempt ${i}`)
        t.same(d.event, e, 'the retried copy is the same event')
        await d.retry(0)
      }
      const last = await inbox.nth(8)
      t.equal(last.attempt, 8)
      await last.ack()
      await b.close()
      t.equal(await h.depth(), 0, 'acked after all: nothing left anywhere')
    })

    t.test('retry(delay) is not delivered again before the delay', async (t) => {
      const { open } = await fresh(t)
      const b = await open()
      await b.publish([makeEvent()])
      const inbox = await new Inbox(b).subscribe(1)
      const delayMs = 1500
      const asked = Date.now()
      await (await inbox.nth(1)).retry(delayMs)
      const again = await inbox.nth(2)
      // A lower bound only (a busy machine makes it later, never earlier); 50 ms of clock slack.
      t.ok(Date.now() - asked >= delayMs - 50, `redelivered after ${Date.now() - asked} ms`)
      t.equal(again.attempt, 2)
      await again.ack()
    })

    t.test('events settle one by one; a retried subset comes back alone', async (t) => {
      const { h, open } = await fresh(t)
      const b = await open()
      const events = Array.from({ length: 10 }, () => makeEvent())
      t.same(
        await b.publish(events),
        events.map(() => true),
      )
      const inbox = await new Inbox(b).subscribe(20)
      for (let i = 1; i <= 10; i++) await inbox.nth(i)
      t.same(
        inbox.received.map((d) => d.event.id).sort(),
        events.map((e) => e.id).sort(),
        'every event is its own delivery',
      )
      // Seven are acked (stored, or dead-lettered by the consumer), three retried: the message
      // is settled once all ten are.
      const [retried, stored] = [inbox.received.slice(0, 3), inbox.received.slice(3)]
      await Promise.all([...stored.map((d) => d.ack()), ...retried.map((d) => d.retry(0))])
      for (let i = 11; i <= 13; i++) await inbox.nth(i)
      const again = inbox.received.slice(10)
      t.same(
        again.map((d) => d.event.id).sort(),
        retried.map((d) => d.event.id).sort(),
        'only the retried events come back',
      )
      t.ok(
        again.every((d) => d.attempt === 2),
        'as attempt 2',
      )
      t.same(
        again.map((d) => d.event),
        retried.map((d) => d.event),
        'byte for byte',
      )
      await Promise.all(again.map((d) => d.ack()))
      await b.close()
      t.equal(await h.depth(), 0, 'nothing left')
    })

    if (fixture.countsDeliveries) {
      t.test(
        'consumers that keep dying: every delivery counts, nothing is moved aside',
        async (t) => {
          const { open } = await fresh(t)
          const e = makeEvent()
          await (await open()).publish([e])
          for (let i = 1; i <= 5; i++) {
            const b = await open()
            const d = await (await new Inbox(b).subscribe(1)).nth(1)
            t.equal(d.event.id, e.id)
            t.equal(d.attempt, i, `delivery ${i} is attempt ${i}`)
            await b.close()
          }
          // Still in the queue, not moved aside: the consumer decides, not the adapter. Asked by
          // taking it once more (a depth read races the broker requeueing the last one's message).
          const last = await open()
          const d = await (await new Inbox(last).subscribe(1)).nth(1)
          t.same([d.event.id, d.attempt], [e.id, 6], 'delivered once more, as attempt 6')
          await d.ack()
          await last.close()
        },
      )
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
