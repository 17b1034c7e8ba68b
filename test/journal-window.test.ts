import t, { type Test } from 'tap'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setImmediate as tick } from 'node:timers/promises'
import Database from 'better-sqlite3'
import {
  SqliteJournal,
  type JournalEntry,
  type NewEvent,
  type SqliteJournalOptions,
} from '../journal/index.js'
import { EntryWindow, entryBytes } from '../journal/window.js'
import { failOnLeaks } from './helpers/leaks.js'

// Issue 9: readPending answers recently committed entries from memory. Every answer must be
// the one the SQLite query gives, so each test compares it with a direct read of the file.

function tempDir(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-journal-window-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

/** Deterministic PRNG (mulberry32), so a failing seed can be replayed. */
function rng(seed: number) {
  let a = seed >>> 0
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0
    let x = Math.imul(a ^ (a >>> 15), 1 | a)
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296
  }
  const int = (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1))
  return { next, int, pick: <T>(xs: readonly T[]): T => xs[int(0, xs.length - 1)]! }
}
type Rng = ReturnType<typeof rng>

let counter = 0
function event(r: Rng): NewEvent {
  const n = counter++
  const size = r.pick([0, 1, 64, 700, 2000, 5120])
  const body = Buffer.alloc(size)
  for (let i = 0; i < size; i++) body[i] = (n * 31 + i * 7) & 0xff
  return {
    id: `evt-${n}`,
    source: r.pick(['default', 'github']),
    contentType: 'application/json',
    headers: { 'content-type': 'application/json', 'x-n': String(n) },
    body,
    verifiedBy: r.pick([null, 'github']),
  }
}

async function open(t: Test, dir: string, opts: Partial<SqliteJournalOptions> = {}) {
  const j = new SqliteJournal({ dataDir: dir, compactIntervalMs: 0, ...opts })
  await j.start()
  t.teardown(() => j.close())
  return j
}

/** The SQLite query readPending stood for before the window, on a connection of its own. */
function fileReader(t: Test, dir: string) {
  const db = new Database(join(dir, 'journal.db'), { readonly: true })
  t.teardown(() => db.close())
  const st = db.prepare('SELECT * FROM entries WHERE seq > ? ORDER BY seq LIMIT ?')
  return (afterSeq: number, limit: number): JournalEntry[] =>
    (st.all(afterSeq, limit) as Array<Record<string, unknown>>).map((r) => ({
      seq: r.seq as number,
      source: r.source as string,
      id: r.id as string,
      receivedAt: r.received_at as number,
      contentType: r.content_type as string,
      headers: JSON.parse(r.headers as string) as Record<string, string>,
      body: r.body as Buffer,
      verifiedBy: r.verified_by as string | null,
    }))
}

/** The first difference between two answers, or null; every field and every body byte. */
function difference(got: readonly JournalEntry[], want: readonly JournalEntry[]): string | null {
  if (got.length !== want.length) {
    const seqs = (es: readonly JournalEntry[]) => es.map((e) => e.seq).join(',')
    return `${got.length} entries [${seqs(got)}], want ${want.length} [${seqs(want)}]`
  }
  for (let i = 0; i < got.length; i++) {
    const g = got[i]!
    const w = want[i]!
    const keys = Object.keys(g).sort().join()
    if (keys !== Object.keys(w).sort().join()) return `entry ${i}: fields ${keys}`
    for (const k of ['seq', 'source', 'id', 'receivedAt', 'contentType', 'verifiedBy'] as const) {
      if (g[k] !== w[k]) return `entry ${i} (seq ${w.seq}): ${k} ${g[k]}, want ${w[k]}`
    }
    if (JSON.stringify(g.headers) !== JSON.stringify(w.headers))
      return `entry ${i} (seq ${w.seq}): headers differ`
    if (!Buffer.isBuffer(g.body) || !g.body.equals(w.body))
      return `entry ${i} (seq ${w.seq}): body differs`
  }
  return null
}

function entry(seq: number): JournalEntry {
  return {
    seq,
    source: 'default',
    id: `e-${seq}`,
    receivedAt: seq,
    contentType: 'text/plain',
    headers: {},
    body: Buffer.from(String(seq)),
    verifiedBy: null,
  }
}

/** Internals a test may look at: the window's bound is checked, never relied on. */
function windowOf(j: SqliteJournal) {
  return (j as unknown as { window: { bytes: number; size: number; from: number } | null }).window
}

const WINDOWS = [0, 1, 3_000, 20_000, 200_000, 64 * 1024 * 1024]
// The random runs use sync 'normal': the window does not depend on fsync, and hundreds of
// fsync'd commits per run only make the file slow on a busy machine.

t.test('inline writer', async (t) => {
  t.test('random appends, marks and reads answer what the file holds', async (t) => {
    const trials = 8
    const mismatches: string[] = []
    for (let trial = 0; trial < trials; trial++) {
      const seed = 1000 * trial + 1
      const r = rng(seed)
      const dir = tempDir(t)
      const windowBytes = WINDOWS[trial % WINDOWS.length]!
      const j = await open(t, dir, { windowBytes, sync: 'normal' })
      const file = fileReader(t, dir)
      const where = (step: number, what: string) =>
        `seed ${seed} window ${windowBytes} step ${step}: ${what}`
      for (let step = 0; step < 120; step++) {
        const op = r.next()
        const pending = file(0, 1_000_000)
        if (op < 0.35) {
          const events = Array.from({ length: r.int(1, 25) }, () => event(r))
          await Promise.all(events.map((e) => j.append(e)))
        } else if (op < 0.55 && pending.length > 0) {
          // The forwarder marks a prefix in order; out of order, twice, or unknown seqs too.
          const k = r.int(1, Math.min(40, pending.length))
          const start = r.next() < 0.6 ? 0 : r.int(0, pending.length - k)
          const seqs = pending.slice(start, start + k).map((e) => e.seq)
          if (r.next() < 0.3) seqs.reverse()
          if (r.next() < 0.2) seqs.push(seqs[0]! + 1_000_000, seqs[0]!)
          await j.markForwarded(seqs)
        } else if (op < 0.9) {
          const last = pending.at(-1)?.seq ?? 0
          const cursor = r.pick([0, r.int(0, last + 3), pending[r.int(0, 5)]?.seq ?? 0, last])
          const limit = r.int(1, 60)
          const diff = difference(j.readPending(cursor, limit), file(cursor, limit))
          if (diff) mismatches.push(where(step, `readPending(${cursor}, ${limit}): ${diff}`))
        } else {
          // Drain as the forwarder does: batches from a cursor until nothing is left.
          const limit = r.int(1, 50)
          const all: JournalEntry[] = []
          for (let batch = j.readPending(0, limit); batch.length > 0;) {
            all.push(...batch)
            batch = j.readPending(batch.at(-1)!.seq, limit)
          }
          const diff = difference(all, pending)
          if (diff) mismatches.push(where(step, `drain by ${limit}: ${diff}`))
        }
        const w = windowOf(j)
        if (w && w.bytes > windowBytes) mismatches.push(where(step, `window ${w.bytes} B`))
      }
      await j.close()
    }
    t.same(mismatches, [], `${trials} random runs, every answer as the file's`)
  })

  t.test('appends, marks and reads interleaved without waiting', async (t) => {
    const trials = 6
    const problems: string[] = []
    for (let trial = 0; trial < trials; trial++) {
      const seed = 77 + 1000 * trial
      const r = rng(seed)
      const dir = tempDir(t)
      const windowBytes = WINDOWS[(trial + 1) % WINDOWS.length]!
      const j = await open(t, dir, { windowBytes, sync: 'normal' })
      const file = fileReader(t, dir)
      const fail = (what: string) => problems.push(`seed ${seed} window ${windowBytes}: ${what}`)
      // What a read may, and what it must, return, from what the caller saw resolve.
      const appended = new Map<string, NewEvent>()
      const committed = new Map<number, JournalEntry>()
      const markStarted = new Set<number>()
      const markDone = new Set<number>()
      const ops: Array<Promise<unknown>> = []
      const read = () => {
        const known = [...committed.keys()]
        const cursor = r.pick([0, known.length ? r.pick(known) : 0, r.int(0, 400)])
        const limit = r.int(1, 80)
        const got = j.readPending(cursor, limit)
        let prev = cursor
        for (const e of got) {
          const sent = appended.get(e.id)
          if (e.seq <= prev) fail(`readPending(${cursor}, ${limit}) out of order at ${e.seq}`)
          if (!sent || !e.body.equals(sent.body)) fail(`entry ${e.seq} is not what was appended`)
          if (markDone.has(e.seq)) fail(`entry ${e.seq} returned after its mark resolved`)
          const c = committed.get(e.seq)
          if (c && (c.id !== e.id || c.receivedAt !== e.receivedAt))
            fail(`entry ${e.seq} differs from its append's result`)
          prev = e.seq
        }
        if (got.length > limit) fail(`readPending(${cursor}, ${limit}) gave ${got.length}`)
        const returned = new Set(got.map((e) => e.seq))
        const upTo = got.length === limit ? got.at(-1)!.seq : Infinity
        for (const seq of committed.keys()) {
          if (seq > cursor && seq < upTo && !markStarted.has(seq) && !returned.has(seq))
            fail(`readPending(${cursor}, ${limit}) skipped pending entry ${seq}`)
        }
      }
      for (let step = 0; step < 300; step++) {
        const op = r.next()
        if (op < 0.3) {
          const e = event(r)
          appended.set(e.id, e)
          ops.push(j.append(e).then((entry) => committed.set(entry.seq, entry)))
        } else if (op < 0.45) {
          const candidates = [...committed.keys()].filter((s) => !markStarted.has(s))
          const seqs = candidates.slice(0, r.int(1, 30))
          if (r.next() < 0.3) seqs.reverse()
          for (const s of seqs) markStarted.add(s)
          ops.push(j.markForwarded(seqs).then(() => seqs.forEach((s) => markDone.add(s))))
        } else if (op < 0.8) {
          read()
        } else if (op < 0.9) {
          await tick()
        } else {
          await Promise.resolve()
        }
      }
      await Promise.all(ops)
      read()
      const diff = difference(j.readPending(0, 1_000_000), file(0, 1_000_000))
      if (diff) fail(`at rest: ${diff}`)
      const left = file(0, 1_000_000).map((e) => e.seq)
      const expected = [...committed.keys()].filter((s) => !markDone.has(s)).sort((a, b) => a - b)
      if (left.join() !== expected.join()) fail('the file holds other entries than expected')
      await j.close()
    }
    t.same(problems, [], `${trials} interleaved runs, no entry skipped, repeated or stale`)
  })

  t.test('a window smaller than the backlog: the rest comes from the file', async (t) => {
    const dir = tempDir(t)
    const r = rng(5)
    // About six 5 KB entries.
    const j = await open(t, dir, { windowBytes: 32 * 1024 })
    const file = fileReader(t, dir)
    const events = Array.from({ length: 60 }, () => ({
      ...event(r),
      body: Buffer.alloc(5120, 7),
    }))
    const entries: JournalEntry[] = []
    for (let i = 0; i < events.length; i += 10) {
      entries.push(...(await Promise.all(events.slice(i, i + 10).map((e) => j.append(e)))))
    }
    const w = windowOf(j)!
    t.ok(w.bytes <= 32 * 1024 && w.size > 0, `window holds ${w.size} entries, ${w.bytes} B`)
    for (const [cursor, limit] of [
      [0, 1000],
      [0, 30],
      [entries[40]!.seq, 5],
      [entries[50]!.seq, 100],
      [entries.at(-1)!.seq, 10],
    ] as const) {
      t.equal(
        difference(j.readPending(cursor, limit), file(cursor, limit)),
        null,
        `${cursor}+${limit}`,
      )
    }
    const all = j.readPending(0, 1000)
    const fromMemory = all.filter((e, i) => e.body === events[i]!.body).length
    t.equal(fromMemory, w.size, 'the newest entries are the appended objects')
    t.ok(
      all.slice(0, 60 - w.size).every((e, i) => e.body !== events[i]!.body),
      'older read from the file',
    )
    // Marks reach entries held and evicted alike.
    await j.markForwarded(entries.filter((_, i) => i % 3 === 0).map((e) => e.seq))
    t.equal(difference(j.readPending(0, 1000), file(0, 1000)), null, 'after marks')
    await j.markForwarded(entries.map((e) => e.seq))
    t.same(j.readPending(0, 1000), [], 'all forwarded')
    t.equal(w.size, 0)
    t.equal(w.bytes, 0)
  })

  t.test('after a restart everything pending is read from the file', async (t) => {
    const dir = tempDir(t)
    const r = rng(9)
    const a = await open(t, dir)
    const first = await Promise.all(Array.from({ length: 40 }, () => a.append(event(r))))
    await a.markForwarded(first.slice(0, 10).map((e) => e.seq))
    await a.close()

    const b = await open(t, dir)
    const file = fileReader(t, dir)
    t.equal(difference(b.readPending(0, 1000), file(0, 1000)), null, 'the backlog, from disk')
    t.equal(b.readPending(0, 1000).length, 30)
    const later = Array.from({ length: 20 }, () => event(r))
    const second = await Promise.all(later.map((e) => b.append(e)))
    for (const [cursor, limit] of [
      [0, 1000],
      [0, 25],
      [first[20]!.seq, 15],
      [first.at(-1)!.seq, 1000],
      [second[4]!.seq, 3],
    ] as const) {
      t.equal(
        difference(b.readPending(cursor, limit), file(cursor, limit)),
        null,
        `${cursor}+${limit}`,
      )
    }
    const read = b.readPending(first.at(-1)!.seq, 1000)
    t.ok(
      read.every((e, i) => e.body === later[i]!.body),
      'entries committed since the restart come from memory',
    )
  })

  t.test('the caller keeps its bodies intact, never detached', async (t) => {
    const j = await open(t, tempDir(t))
    const bodies = Array.from({ length: 50 }, (_, i) => Buffer.alloc(3000 + i, i))
    const copies = bodies.map((b) => Buffer.from(b))
    const r = rng(11)
    await Promise.all(bodies.map((body) => j.append({ ...event(r), body })))
    t.ok(
      bodies.every((b, i) => b.byteLength === copies[i]!.byteLength && b.equals(copies[i]!)),
      'every appended body still holds its bytes',
    )
    const read = j.readPending(0, 100)
    t.ok(
      read.every((e, i) => e.body === bodies[i] && e.body.equals(copies[i]!)),
      'readPending hands out the same bytes',
    )
  })

  t.test(
    'a commit or mark whose result was lost: the window is rebuilt from the file',
    async (t) => {
      const dir = tempDir(t)
      const r = rng(13)
      const j = await open(t, dir)
      const file = fileReader(t, dir)
      await Promise.all(Array.from({ length: 10 }, () => j.append(event(r))))
      // The writer did the work, but its answer never arrived (as when its thread dies).
      const internals = j as unknown as {
        writer: {
          commit: (events: readonly NewEvent[]) => Promise<unknown>
          markForwarded: (seqs: readonly number[]) => Promise<number>
        }
      }
      const { commit, markForwarded } = internals.writer
      internals.writer.commit = async (events) => {
        await commit.call(internals.writer, events)
        throw new Error('answer lost')
      }
      const lost = await Promise.allSettled(Array.from({ length: 5 }, () => j.append(event(r))))
      t.ok(
        lost.every((o) => o.status === 'rejected'),
        'the appends failed',
      )
      internals.writer.commit = commit
      t.equal(file(0, 100).length, 15, 'yet their rows are in the file')
      t.equal(difference(j.readPending(0, 100), file(0, 100)), null, 'and readPending has them')
      await Promise.all(Array.from({ length: 5 }, () => j.append(event(r))))
      t.equal(difference(j.readPending(0, 100), file(0, 100)), null, 'with later appends')

      const gone = file(0, 100)
        .slice(12)
        .map((e) => e.seq)
      internals.writer.markForwarded = async (seqs) => {
        await markForwarded.call(internals.writer, seqs)
        throw new Error('answer lost')
      }
      await t.rejects(j.markForwarded(gone))
      internals.writer.markForwarded = markForwarded
      t.equal(file(0, 100).length, 12, 'the mark deleted its rows')
      t.equal(difference(j.readPending(0, 100), file(0, 100)), null, 'and readPending agrees')

      // A mark fails while a commit's rows are in the file and its result is on its way (the
      // failed fsync): the window restarts above those rows and must not take them again.
      internals.writer.commit = async (events) => {
        const result = await commit.call(internals.writer, events)
        internals.writer.markForwarded = () => Promise.reject(new Error('writer failed'))
        await t.rejects(j.markForwarded([file(0, 1)[0]!.seq]))
        internals.writer.markForwarded = markForwarded
        return result
      }
      await Promise.all(Array.from({ length: 4 }, () => j.append(event(r))))
      internals.writer.commit = commit
      t.equal(file(0, 100).length, 16)
      t.equal(difference(j.readPending(0, 100), file(0, 100)), null, 'each entry once')
    },
  )
})

t.test('EntryWindow against a model of the file, many small steps', async (t) => {
  // The journal's readPending in miniature: the file's rows up to `from`, then the window.
  const problems: string[] = []
  const one = entryBytes(entry(1))
  // [seed, bound, a seq the broker never confirms (later entries are, around it)]
  for (const [seed, maxBytes, stuck] of [
    [1, 1, 0],
    [2, one * 3, 0],
    [3, one * 50, 0],
    [4, one * 5000, 0],
    [5, one * 5000, 200],
  ] as const) {
    const r = rng(seed)
    const file = new Map<number, JournalEntry>()
    const w = new EntryWindow(maxBytes, 0)
    let next = 1
    const fileAfter = (after: number, upTo: number, limit: number) =>
      [...file.keys()]
        .filter((s) => s > after && s <= upTo)
        .sort((a, b) => a - b)
        .slice(0, limit)
        .map((s) => file.get(s)!)
    for (let step = 0; step < 20_000; step++) {
      const op = r.next()
      if (op < 0.3) {
        const batch = Array.from({ length: r.int(1, 8) }, () => entry(next++))
        for (const e of batch) file.set(e.seq, e)
        w.add(batch)
      } else if (op < 0.55 && file.size > 1) {
        const seqs = [...file.keys()].filter((s) => s !== stuck).sort((a, b) => a - b)
        const k = r.int(1, Math.min(20, seqs.length))
        const start = r.next() < 0.5 ? 0 : r.int(0, seqs.length - k)
        const marked = seqs.slice(start, start + k)
        // Marked again (already gone), never committed, and out of order.
        if (r.next() < 0.3) marked.push(r.int(0, next + 5), marked[0]!)
        if (r.next() < 0.3) marked.reverse()
        for (const s of marked) file.delete(s)
        w.remove(marked)
      } else if (op < 0.56 && !stuck) {
        w.reset(Math.max(0, ...file.keys()))
      } else {
        const after = r.int(-1, next + 1)
        const limit = r.int(1, 40)
        const got = after < w.from ? fileAfter(after, w.from, limit) : []
        if (got.length < limit) w.read(after, limit, got)
        const want = fileAfter(after, Infinity, limit)
        if (got.map((e) => e.seq).join() !== want.map((e) => e.seq).join())
          problems.push(`seed ${seed} step ${step}: read(${after}, ${limit})`)
        if (got.some((e, i) => e !== want[i])) problems.push(`seed ${seed} step ${step}: objects`)
      }
      if (w.bytes > maxBytes) problems.push(`seed ${seed} step ${step}: ${w.bytes} B held`)
      // Marked entries' slots do not pile up (around an entry that stays, for one).
      const slots = (w as unknown as { slots: unknown[] }).slots.length
      if (slots > 4 * w.size + 4096) problems.push(`seed ${seed} step ${step}: ${slots} slots`)
    }
  }
  t.same(problems.slice(0, 10), [], 'every read as the file would answer it')
})

t.test('options.windowBytes is checked', async (t) => {
  for (const bad of [-1, 1.5, '3', null]) {
    t.throws(() => new SqliteJournal({ dataDir: '/tmp/x', windowBytes: bad as never }), {
      name: 'TypeError',
      message: /options.windowBytes/,
    })
  }
  t.doesNotThrow(() => new SqliteJournal({ dataDir: '/tmp/x', windowBytes: 0 }))
})

failOnLeaks(t)
