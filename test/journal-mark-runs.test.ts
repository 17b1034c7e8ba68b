import t from 'tap'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { WriterCore, consecutiveRuns } from '../journal/writer-core.js'
import type { NewEvent } from '../journal/types.js'

// Marks delete the forwarded entries one statement per run of consecutive seqs; these tests
// pin down that every seq given is deleted and no other, however the seqs are ordered.

t.test('consecutiveRuns covers each seq given and nothing else', async (t) => {
  t.same(consecutiveRuns([]), [])
  t.same(consecutiveRuns([7]), [[7, 7]])
  t.same(consecutiveRuns([1, 2, 3, 5, 7, 8]), [
    [1, 3],
    [5, 5],
    [7, 8],
  ])
  t.same(
    consecutiveRuns([5, 4, 3]),
    [
      [5, 5],
      [4, 4],
      [3, 3],
    ],
    'descending: one run per seq',
  )
  t.same(
    consecutiveRuns([2, 3, 3, 4]),
    [
      [2, 3],
      [3, 4],
    ],
    'a repeat starts a new run',
  )
})

const event = (i: number): NewEvent => ({
  source: 'test',
  id: `evt-${i}`,
  contentType: 'application/json',
  headers: {},
  body: Buffer.from(`{"n":${i}}`),
  verifiedBy: null,
})

t.test('a mark deletes exactly the marked entries', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-mark-runs-'))
  const path = join(dir, 'journal.db')
  const writer = new WriterCore(path, 'full')
  t.teardown(() => {
    writer.close()
    rmSync(dir, { recursive: true, force: true })
  })
  const { seqs } = writer.commit(Array.from({ length: 12 }, (_, i) => event(i)))
  t.equal(seqs.length, 12)
  const marked = [seqs[0]!, seqs[1]!, seqs[2]!, seqs[4]!, seqs[7]!, seqs[6]!, seqs[11]!]
  t.equal(writer.markForwarded(marked), 7, 'reports each deleted entry once')
  t.equal(writer.markForwarded([seqs[0]!, seqs[1]!]), 0, 'marking again deletes nothing')

  const reader = new Database(path, { readonly: true })
  t.teardown(() => reader.close())
  const left = reader.prepare('SELECT seq FROM entries ORDER BY seq').pluck().all() as number[]
  const expected = seqs.filter((s) => !marked.includes(s))
  t.same(left, expected, 'the unmarked entries stay, and only they')
})
