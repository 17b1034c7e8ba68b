import t from 'tap'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pino } from 'pino'
import { SqliteJournal } from '../journal/index.js'
import { Forwarder } from '../src/forwarder/index.js'
import type { JournalEntry } from '../journal/types.js'
import { fixtures } from './helpers/broker-fixtures.js'
import { until } from './helpers/wait.js'
import { failOnLeaks } from './helpers/leaks.js'

const logger = pino({ level: 'silent' })

// While the journal refuses marks (an I/O fault: journal/io-fault.ts), entries the broker already
// confirmed are marked again once it takes marks, not published again: a rewind would republish
// every pending entry every few seconds for as long as the fault lasts.
t.test('marks the journal refused are retried, not republished', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-fwd-marks-'))
  const harness = await fixtures[0]!.setup()
  const journal = new SqliteJournal({ dataDir: dir, sync: 'normal' })
  await journal.start()
  const broker = harness.make()
  await broker.start()
  const published = new Map<string, number>()
  const publisher = {
    publish: (entries: JournalEntry[]) => {
      for (const e of entries) published.set(e.id, (published.get(e.id) ?? 0) + 1)
      return broker.publish(entries)
    },
  }
  const twice = () => [...published].filter(([, n]) => n > 1).map(([id]) => id)
  let refusing = true
  let refused = 0
  const refusingJournal = {
    readPending: (after: number, limit: number) => journal.readPending(after, limit),
    markForwarded: async (seqs: number[]) => {
      if (refusing) {
        refused++
        throw new Error('disk I/O error (SQLITE_IOERR)')
      }
      return journal.markForwarded(seqs)
    },
  }
  const forwarder = new Forwarder(refusingJournal, publisher, logger, {
    batchSize: 10,
    retryBaseMs: 5,
    retryCapMs: 20,
  })
  t.teardown(async () => {
    await forwarder.close()
    await broker.close()
    await journal.close()
    await harness.cleanup()
    rmSync(dir, { recursive: true, force: true })
  })

  const count = 50
  for (let i = 0; i < count; i++) {
    await journal.append({
      id: `mark-${i}`,
      source: 'default',
      contentType: 'application/json',
      headers: {},
      body: Buffer.from(`{"n":${i}}`),
      verifiedBy: null,
    })
  }
  void forwarder.start()
  await until('20 marks refused', () => refused >= 20)
  t.ok(published.size > 0, `${published.size} entries were published`)
  t.same(twice(), [], 'none of them twice while 20 marks were refused')
  t.equal(journal.stats().pending, count, 'and none is marked yet')
  t.equal(forwarder.status().state, 'retrying')

  refusing = false
  await until('every entry marked', () => journal.stats().pending === 0)
  t.equal(published.size, count, 'every entry was published')
  t.same(twice(), [], 'each once')
  t.equal(forwarder.status().forwarded, count)
  t.equal(forwarder.status().consecutiveFailures, 0)
})

failOnLeaks(t)
