import t, { type Test } from 'tap'
import { mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import Database from 'better-sqlite3'
import { SqliteJournal, JournalFullError, JournalClosedError } from '../journal/index.js'
import type { NewEvent } from '../journal/index.js'
import { failOnLeaks } from './helpers/leaks.js'

function tempDir(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-journal-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

function event(i: number, body: Buffer = Buffer.from(`{"n":${i}}`)): NewEvent {
  return {
    id: `evt-${i}`,
    source: 'default',
    contentType: 'application/json',
    headers: { 'content-type': 'application/json', 'x-n': String(i) },
    body,
    verifiedBy: null,
  }
}

// The schema of journals written before marking forwarded became a delete.
const OLD_DDL = `
CREATE TABLE entries (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, source TEXT NOT NULL, id TEXT NOT NULL,
  received_at INTEGER NOT NULL, content_type TEXT NOT NULL, headers TEXT NOT NULL,
  body BLOB NOT NULL, verified_by TEXT, forwarded INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX entries_pending ON entries (seq) WHERE forwarded = 0;
`

function filesSize(dir: string): number {
  return ['journal.db', 'journal.db-wal'].reduce((n, f) => {
    try {
      return n + statSync(join(dir, f)).size
    } catch {
      return n
    }
  }, 0)
}

async function open(t: Test, dir: string, extra = {}) {
  const commits: number[] = []
  const j = new SqliteJournal({ dataDir: dir, onCommit: (n) => commits.push(n), ...extra })
  await j.start()
  t.teardown(() => j.close())
  return { j, commits }
}

t.test('inline writer', async (t) => {
  t.test('appends are ordered, kept byte for byte, and group-committed', async (t) => {
    const { j, commits } = await open(t, tempDir(t))
    const bodies = Array.from({ length: 300 }, () =>
      randomBytes(1 + Math.floor(Math.random() * 2000)),
    )
    const entries = await Promise.all(bodies.map((b, i) => j.append(event(i, b))))
    for (let i = 1; i < entries.length; i++) {
      t.ok(entries[i]!.seq > entries[i - 1]!.seq, 'seq strictly increasing in append order')
    }
    t.equal(
      commits.reduce((a, b) => a + b, 0),
      300,
      'every event committed once',
    )
    t.ok(
      commits.length < 300,
      `fewer commits (${commits.length}) than events: appends were grouped`,
    )
    t.ok(Math.max(...commits) > 1, 'at least one commit held several events')
    const read = j.readPending(0, 1000)
    t.equal(read.length, 300)
    read.forEach((e, i) => {
      t.equal(e.seq, entries[i]!.seq)
      t.equal(e.id, `evt-${i}`)
      t.same(e.headers, { 'content-type': 'application/json', 'x-n': String(i) })
      if (!e.body.equals(bodies[i]!)) t.fail(`body ${i} differs`)
    })
    t.equal(j.readPending(entries[149]!.seq, 1000).length, 150, 'reads after a cursor')
    const s = j.stats()
    t.equal(s.pending, 300)
    t.equal(s.oldestPendingAt, entries[0]!.receivedAt)
  })

  t.test('appends made while a commit runs go into the next commit', async (t) => {
    const { j, commits } = await open(t, tempDir(t))
    const first = j.append(event(0))
    // Queued after the first commit started (it starts on setImmediate).
    await new Promise((r) => setImmediate(r))
    const rest = Array.from({ length: 50 }, (_, i) => j.append(event(i + 1)))
    await Promise.all([first, ...rest])
    t.equal(commits[0], 1, 'first commit held only the first event')
    t.ok(commits.length < 51, `the 50 later appends shared ${commits.length - 1} commit(s)`)
  })

  t.test('reopen keeps everything pending; markForwarded hides entries', async (t) => {
    const dir = tempDir(t)
    const a = new SqliteJournal({ dataDir: dir })
    await a.start()
    const entries = await Promise.all(Array.from({ length: 10 }, (_, i) => a.append(event(i))))
    await a.markForwarded(entries.slice(0, 3).map((e) => e.seq))
    const closing = a.close()
    t.equal(a.close(), closing, 'close returns the same promise')
    await closing
    await t.rejects(a.append(event(99)), JournalClosedError)
    const { j } = await open(t, dir)
    const pending = j.readPending(0, 100)
    t.same(
      pending.map((e) => e.seq),
      entries.slice(3).map((e) => e.seq),
    )
    t.equal(j.stats().pending, 7)
    const next = await j.append(event(10))
    t.ok(next.seq > entries[9]!.seq, 'seq keeps increasing across reopen')
  })

  t.test('the pending count stays exact under concurrent marks and appends', async (t) => {
    const { j } = await open(t, tempDir(t))
    const entries = await Promise.all(Array.from({ length: 300 }, (_, i) => j.append(event(i))))
    const batches = Array.from({ length: 10 }, (_, b) => entries.slice(b * 20, b * 20 + 20))
    await Promise.all([
      ...batches.map((batch) => j.markForwarded(batch.map((e) => e.seq))),
      ...Array.from({ length: 50 }, (_, i) => j.append(event(300 + i))),
      // Already gone: marking it again must not count twice.
      j.markForwarded([entries[0]!.seq]),
    ])
    t.equal(j.stats().pending, 150)
    t.equal(j.readPending(0, 1000).length, 150)
  })

  t.test('compaction shrinks the files', async (t) => {
    const dir = tempDir(t)
    const { j } = await open(t, dir)
    const entries = await Promise.all(
      Array.from({ length: 1500 }, (_, i) => j.append(event(i, randomBytes(4096)))),
    )
    await j.markForwarded(entries.map((e) => e.seq))
    const before = filesSize(dir)
    await j.compact()
    const after = filesSize(dir)
    t.ok(after < before / 4, `files went from ${before} to ${after} bytes`)
    t.equal(statSync(join(dir, 'journal.db-wal')).size, 0, 'WAL truncated')
    t.equal(j.stats().pending, 0)
    t.ok(j.stats().bytes < before / 4, 'stats bytes follow')
  })

  t.test('the journal compacts itself on its timer', async (t) => {
    const dir = tempDir(t)
    const { j } = await open(t, dir, { compactIntervalMs: 20 })
    const entries = await Promise.all(
      Array.from({ length: 1500 }, (_, i) => j.append(event(i, randomBytes(4096)))),
    )
    const before = filesSize(dir)
    await j.markForwarded(entries.map((e) => e.seq))
    // Nobody calls compact(): the journal's own timer must shrink the files.
    for (let i = 0; i < 600 && filesSize(dir) >= before / 4; i++) {
      await new Promise((r) => setTimeout(r, 50))
    }
    t.ok(filesSize(dir) < before / 4, `files went from ${before} to ${filesSize(dir)} bytes`)
    t.equal(j.stats().pending, 0)
  })

  t.test('a journal from the previous version opens and loses its forwarded column', async (t) => {
    const dir = tempDir(t)
    const old = new Database(join(dir, 'journal.db'))
    old.pragma('auto_vacuum = INCREMENTAL')
    old.pragma('journal_mode = WAL')
    old.exec(OLD_DDL)
    const insert = old.prepare(
      `INSERT INTO entries (source, id, received_at, content_type, headers, body, verified_by)
         VALUES ('default', ?, ?, 'application/json', '{"x-n":"1"}', ?, NULL)`,
    )
    for (let i = 0; i < 3; i++) insert.run(`old-${i}`, 1000 + i, Buffer.from(`{"n":${i}}`))
    old.close()

    const { j } = await open(t, dir)
    const pending = j.readPending(0, 10)
    t.same(
      pending.map((e) => [e.id, e.body.toString(), e.headers]),
      [0, 1, 2].map((i) => [`old-${i}`, `{"n":${i}}`, { 'x-n': '1' }]),
      'old entries are pending, byte for byte',
    )
    t.same(j.stats(), { ...j.stats(), pending: 3, oldestPendingAt: 1000 })
    const inspect = new Database(join(dir, 'journal.db'), { readonly: true })
    t.teardown(() => inspect.close())
    const columns = inspect.pragma('table_info(entries)') as Array<{ name: string }>
    t.notOk(
      columns.some((c) => c.name === 'forwarded'),
      'forwarded column dropped',
    )
    t.same(inspect.pragma('index_list(entries)'), [], 'partial index dropped')
    t.ok(
      columns.some((c) => c.name === 'traceparent'),
      'traceparent column added',
    )

    await j.markForwarded([pending[0]!.seq])
    const next = await j.append(event(3))
    t.ok(next.seq > pending[2]!.seq, 'seq continues after the old entries')
    t.same(
      j.readPending(0, 10).map((e) => e.id),
      ['old-1', 'old-2', 'evt-3'],
    )
    t.equal(j.stats().pending, 3)
  })

  t.test(
    'a traceparent is kept with its event, read from the window and from the file',
    async (t) => {
      const dir = tempDir(t)
      const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'
      const first = await open(t, dir)
      await first.j.append({ ...event(0), traceparent })
      await first.j.append(event(1))
      const fromWindow = first.j.readPending(0, 10)
      t.equal(fromWindow[0]!.traceparent, traceparent, 'from the window')
      t.notOk('traceparent' in fromWindow[1]!, 'an event without one has none')
      await first.j.close()
      const again = await open(t, dir)
      const fromFile = again.j.readPending(0, 10)
      t.equal(fromFile[0]!.traceparent, traceparent, 'from the file, after reopening')
      t.notOk('traceparent' in fromFile[1]!, 'and still none for the other')
    },
  )

  t.test('quota: appends are refused past maxBytes, accepted again after compaction', async (t) => {
    const { j } = await open(t, tempDir(t), { maxBytes: 200_000 })
    const accepted: number[] = []
    let refused: unknown = null
    for (let i = 0; i < 100 && !refused; i++) {
      try {
        accepted.push((await j.append(event(i, randomBytes(10_000)))).seq)
      } catch (err) {
        refused = err
      }
    }
    t.type(refused, JournalFullError, 'refused with JournalFullError')
    t.ok(accepted.length > 0 && accepted.length < 30, `accepted ${accepted.length} before refusing`)
    t.equal(j.stats().state, 'full')
    await j.markForwarded(accepted)
    await j.compact()
    t.equal(j.stats().state, 'open')
    t.ok((await j.append(event(1000))).seq > 0, 'accepted again')
  })
})

t.test('options are checked', async (t) => {
  t.throws(() => new SqliteJournal({ dataDir: '' }), TypeError)
  t.throws(() => new SqliteJournal({ dataDir: '/tmp/x', sync: 'off' as never }), /options.sync/)
  t.throws(() => new SqliteJournal({ dataDir: '/tmp/x', maxBytes: -1 }), /options.maxBytes/)
  t.throws(
    () => new SqliteJournal({ dataDir: '/tmp/x', compactIntervalMs: -1 }),
    /options.compactIntervalMs/,
  )
})

failOnLeaks(t)
