import t, { type Test } from 'tap'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { SqliteJournal, type NewEvent } from '../journal/index.js'
import { setTimeout as sleep } from 'node:timers/promises'
import { WriterCore } from '../journal/writer-core.js'
import { GroupCommitter } from '../journal/group-commit.js'
import { openWriteConnection } from '../journal/schema.js'

// Ordered delivery chains a key's events by receipt time (src/db/ordering.ts). A sender that
// posts an event only after the previous one's 200 must see them ordered so, which a tie between
// two commits in one millisecond did not guarantee: CI once delivered c9-10 before c9-9.

const event = (n: number): NewEvent => ({
  id: `e-${n}`,
  source: 'default',
  contentType: 'application/json',
  headers: {},
  body: Buffer.from(`{"n":${n}}`),
  verifiedBy: null,
})

function tempDir(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-receipt-order-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

t.test('an append made after the last one returned has a later receipt time', async (t) => {
  // synchronous=NORMAL: commits of tens of microseconds, many of them per millisecond.
  const j = new SqliteJournal({ dataDir: tempDir(t), sync: 'normal', compactIntervalMs: 0 })
  await j.start()
  t.teardown(() => j.close())
  const times: number[] = []
  for (let n = 0; n < 200; n++) times.push((await j.append(event(n))).receivedAt)
  const ties = times.filter((at, i) => i > 0 && at <= times[i - 1]!).length
  t.equal(ties, 0, 'each receipt time is later than the one before')
  t.ok(times.at(-1)! <= Date.now(), 'and none is ahead of the clock')
  // Concurrent appends still share a commit, and so its time.
  const together = await Promise.all([0, 1, 2, 3].map((n) => j.append(event(200 + n))))
  t.equal(new Set(together.map((e) => e.receivedAt)).size, 1, 'one commit, one receipt time')
})

t.test(
  'the writer never repeats a receipt time when the clock stands still or steps back',
  async (t) => {
    const path = join(tempDir(t), 'journal.db')
    openWriteConnection(path, 'normal').close() // creates the schema
    const writer = new WriterCore(path, 'normal')
    t.teardown(() => writer.close())
    const now = Date.now
    t.teardown(() => (Date.now = now))
    // Standing still, then a step back within CLOCK_STEP_MS: followed. An hour back: taken.
    const clock = [5_000, 5_000, 4_998, 5_000 - 3_600_000]
    const times = clock.map((at, n) => {
      Date.now = () => at
      return writer.commit([event(n)]).receivedAt
    })
    t.same(times, [5_000, 5_001, 5_002, 5_000 - 3_600_000])
  },
)

t.test('a clock that stepped back an hour does not hold commits back', async (t) => {
  const gc = new GroupCommitter(async (events) => ({
    seqs: events.map((_, i) => i + 1),
    receivedAt: 10_000_000,
  }))
  await gc.add(event(0))
  const now = Date.now
  t.teardown(() => (Date.now = now))
  Date.now = () => 10_000_000 - 3_600_000
  // A bound on liveness, not on speed: the commit is due at once, and waiting for the clock to
  // pass the last receipt time would take an hour.
  const next = await Promise.race([
    gc.add(event(1)).then(() => 'committed'),
    sleep(5_000).then(() => 'held back'),
  ])
  t.equal(next, 'committed')
  Date.now = now
  await gc.idle()
})
