import t, { type Test } from 'tap'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { SqliteJournal, type JournalEntry, type NewEvent } from '../journal/index.js'
import { WithTransfer, type Remote } from '../src/actors/rpc.js'
import type { PipelineHostApi } from '../src/pipeline/actor-api.js'
import { readForThread } from '../src/pipeline/pipeline-thread.js'
import { ThreadJournal } from '../src/pipeline/thread-journal.js'
import { failOnLeaks } from './helpers/leaks.js'

// The pipeline thread reads a backlog below the journal's window from the file itself (over
// its own connection); what it reads must still be exactly what the file holds, in order.

function tempDir(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-thread-reads-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

async function open(t: Test, dir: string, windowBytes: number) {
  const j = new SqliteJournal({ dataDir: dir, compactIntervalMs: 0, windowBytes, sync: 'normal' })
  await j.start()
  t.teardown(() => j.close())
  return j
}

/**
 * The pipeline thread's view of `j`, with the host side answered in-process the way the RPC
 * does (a WithTransfer's value crosses, the transfer list aside). Counts the FileRange answers.
 */
function threadView(t: Test, j: SqliteJournal) {
  const seen = { fileRanges: 0, fromMemory: 0 }
  const host = {
    async readPending(afterSeq: number, limit: number) {
      const answer = await readForThread(j, afterSeq, limit)
      if (answer instanceof WithTransfer) {
        seen.fromMemory++
        return answer.value
      }
      seen.fileRanges++
      return answer
    },
    markForwarded: (seqs: readonly number[]) => j.markForwarded(seqs),
    forwardedThrough: () => j.forwardedThrough(),
  } as unknown as Remote<PipelineHostApi>
  const journal = new ThreadJournal(host)
  t.teardown(() => journal.close())
  return { journal, seen }
}

/** Every pending row, straight from the file. */
function fileRows(t: Test, dir: string) {
  const db = new Database(join(dir, 'journal.db'), { readonly: true })
  t.teardown(() => db.close())
  const st = db.prepare('SELECT seq, id, body FROM entries ORDER BY seq')
  return () => st.all() as Array<{ seq: number; id: string; body: Buffer }>
}

let counter = 0
function event(size: number): NewEvent {
  const n = counter++
  const body = Buffer.alloc(size)
  for (let i = 0; i < size; i++) body[i] = (n * 31 + i * 7) & 0xff
  return {
    id: `evt-${n}`,
    source: 'default',
    contentType: 'application/json',
    headers: { 'content-type': 'application/json', 'x-n': String(n) },
    body,
    verifiedBy: null,
  }
}

/** The forwarder's loop: batches from a cursor until an empty answer. */
async function drain(journal: ThreadJournal, limit: number): Promise<JournalEntry[]> {
  const all: JournalEntry[] = []
  let cursor = 0
  for (;;) {
    const batch = await journal.readPending(cursor, limit)
    if (batch.length === 0) return all
    if (batch.length > limit) throw new Error(`${batch.length} entries for a limit of ${limit}`)
    all.push(...batch)
    cursor = batch.at(-1)!.seq
  }
}

function sameAsFile(got: readonly JournalEntry[], rows: ReturnType<ReturnType<typeof fileRows>>) {
  if (got.length !== rows.length) return `${got.length} entries, the file holds ${rows.length}`
  for (let i = 0; i < got.length; i++) {
    const g = got[i]!
    const w = rows[i]!
    if (g.seq !== w.seq || g.id !== w.id) return `entry ${i}: seq ${g.seq} ${g.id}, want ${w.seq}`
    if (!g.body.equals(w.body)) return `entry ${i} (seq ${w.seq}): body differs`
    if (g.headers['x-n'] !== g.id.slice(4)) return `entry ${i} (seq ${w.seq}): headers differ`
  }
  return null
}

t.test('a backlog larger than the window is read from the file, in order, once', async (t) => {
  const dir = tempDir(t)
  // About six of these 5 KB entries fit; the rest of the 120 are below the window.
  const j = await open(t, dir, 32 * 1024)
  const { journal, seen } = threadView(t, j)
  const rows = fileRows(t, dir)
  for (let i = 0; i < 120; i += 20) {
    await Promise.all(Array.from({ length: 20 }, () => j.append(event(5120))))
  }
  for (const limit of [1, 7, 50, 1000]) {
    t.equal(sameAsFile(await drain(journal, limit), rows()), null, `drained by ${limit}`)
  }
  t.ok(seen.fileRanges > 0, `the backlog came from the file (${seen.fileRanges} ranges)`)
  t.ok(seen.fromMemory > 0, `the recent commits from the window (${seen.fromMemory} answers)`)

  // Mark the oldest half as the forwarder would: the rest is read from where it is.
  const half = (await drain(journal, 1000)).slice(0, 60).map((e) => e.seq)
  await journal.markForwarded(half)
  t.equal(sameAsFile(await drain(journal, 13), rows()), null, 'after marks')
  t.equal(rows().length, 60)
  await journal.markForwarded(rows().map((r) => r.seq))
  t.same(await journal.readPending(0, 100), [], 'all forwarded: nothing')
})

t.test('a range below the window with nothing pending goes on into the window', async (t) => {
  const dir = tempDir(t)
  const j = await open(t, dir, 32 * 1024)
  const { journal, seen } = threadView(t, j)
  const old = await Promise.all(Array.from({ length: 30 }, () => j.append(event(5120))))
  const recent = await j.append(event(10))
  // Everything below the window is forwarded; the reader's cursor is still at 0.
  await journal.markForwarded(old.map((e) => e.seq))
  const got = await journal.readPending(0, 10)
  t.same(
    got.map((e) => e.seq),
    [recent.seq],
    'the first answer is the recent entry, not an empty one that would look caught up',
  )
  t.ok(seen.fileRanges > 0 && seen.fromMemory > 0, 'asked the file, then the window')
})

t.test('with no window every read comes from the file', async (t) => {
  const dir = tempDir(t)
  const j = await open(t, dir, 0)
  const { journal, seen } = threadView(t, j)
  const rows = fileRows(t, dir)
  await Promise.all(Array.from({ length: 25 }, (_, i) => j.append(event(i * 40))))
  t.equal(sameAsFile(await drain(journal, 4), rows()), null, 'drained by 4')
  t.equal(seen.fromMemory, 0, 'nothing from memory')
})

t.test('after a restart the reader follows the file and new commits alike', async (t) => {
  const dir = tempDir(t)
  const a = await open(t, dir, 64 * 1024)
  await Promise.all(Array.from({ length: 40 }, () => a.append(event(700))))
  await a.close()
  const b = await open(t, dir, 64 * 1024)
  const { journal } = threadView(t, b)
  const rows = fileRows(t, dir)
  const first = await journal.readPending(0, 15)
  t.equal(first.length, 15, 'the backlog, from disk')
  await Promise.all(Array.from({ length: 10 }, () => b.append(event(300))))
  const rest = await drain(journal, 1000)
  t.equal(sameAsFile(rest, rows()), null, 'old and new entries, each once, in order')
  t.equal(rest.length, 50)
})

failOnLeaks(t)
