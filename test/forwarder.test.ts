import t from 'tap'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pino } from 'pino'
import { SqliteJournal } from '../journal/index.js'
import { Forwarder } from '../src/forwarder/index.js'
import { fixtures, Inbox } from './helpers/broker-fixtures.js'
import { until } from './helpers/wait.js'
import { failOnLeaks } from './helpers/leaks.js'

const logger = pino({ level: 'silent' })

t.test('options are validated', async (t) => {
  const journal = { readPending: () => [], markForwarded: async () => {} }
  const publisher = { publish: async () => [] }
  t.throws(() => new Forwarder(journal, publisher, logger, { batchSize: 0 }), {
    name: 'TypeError',
    message: 'options.batchSize must be a positive integer',
  })
  t.throws(
    () => new Forwarder(journal, publisher, logger, { retryBaseMs: 10, retryCapMs: 5 }),
    TypeError,
  )
})

for (const fixture of fixtures) {
  t.test(`drains the journal into ${fixture.name} byte for byte`, async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-fwd-'))
    const harness = await fixture.setup()
    const journal = new SqliteJournal({ dataDir: dir, sync: 'normal' })
    await journal.start()
    const publisher = harness.make()
    const consumer = harness.make()
    await publisher.start()
    await consumer.start()
    const forwarder = new Forwarder(journal, publisher, logger, { batchSize: 50 })
    t.teardown(async () => {
      await forwarder.close()
      await publisher.close()
      await consumer.close()
      await journal.close()
      await harness.cleanup()
      rmSync(dir, { recursive: true, force: true })
    })

    const count = 400
    const sent = new Map<string, Buffer>()
    for (let i = 0; i < count; i++) {
      const body = Buffer.from(`{"n":${i},"bin":"${'x'.repeat(i % 37)}"}\u0000\u00ff`, 'latin1')
      sent.set(`fwd-${i}`, body)
    }
    await Promise.all(
      [...sent].map(([id, body]) =>
        journal.append({
          id,
          source: 'default',
          contentType: 'application/octet-stream',
          headers: { a: 'b' },
          body,
          verifiedBy: null,
        }),
      ),
    )
    void forwarder.start()
    const inbox = await new Inbox(consumer).subscribe(500)
    await inbox.nth(count)
    const got = new Map(inbox.received.map((d) => [d.event.id, d.event.body]))
    t.equal(got.size, count, 'every journaled event reached the broker')
    const damaged = [...sent].filter(([id, body]) => !got.get(id)?.equals(body)).map(([id]) => id)
    t.same(damaged, [], 'every body arrived byte for byte')
    await Promise.all(inbox.received.map((d) => d.ack()))

    // Confirmed entries are marked forwarded, which removes them from the journal.
    const settled = () => journal.stats().pending === 0 && forwarder.status().forwarded >= count
    await until('every entry is confirmed and marked forwarded', settled)
    t.equal(journal.stats().pending, 0, 'nothing left pending once the broker confirmed')
    t.equal(forwarder.status().forwarded, count, 'forwarded count matches')
    t.equal(forwarder.status().consecutiveFailures, 0)
  })
}

failOnLeaks(t)
