import t, { type Test } from 'tap'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { setImmediate as tick } from 'node:timers/promises'
import {
  SqliteJournal,
  JournalUnavailableError,
  type JournalEntry,
  type JournalState,
  type NewEvent,
  type SqliteJournalOptions,
  type WriterRestart,
} from '../journal/index.js'
import { WriterError } from '../journal/worker-writer.js'
import { errorCode, errorSpec } from '../src/errors.js'
import { until } from './helpers/wait.js'
import { failOnLeaks } from './helpers/leaks.js'

function tempDir(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-journal-restart-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

let counter = 0
function event(): NewEvent {
  const n = counter++
  return {
    id: `evt-${n}`,
    source: 'default',
    contentType: 'application/octet-stream',
    headers: { 'x-n': String(n) },
    // Random bytes of varying size: a torn or mixed-up body cannot compare equal by accident.
    body: randomBytes(512 + ((n * 7919) % 6000)),
    verifiedBy: null,
  }
}

/** A restart as reported, with the state and an append made while the callback ran. */
type Restart = WriterRestart & { state: JournalState | undefined; probe: Promise<Outcome> }

async function open(t: Test, dir: string, extra: Partial<SqliteJournalOptions> = {}) {
  const restarts: Restart[] = []
  const j: SqliteJournal = new SqliteJournal({
    dataDir: dir,
    writer: 'worker',
    // What /readyz would show, and what an append gets, while the writer is down.
    onWriterRestart: (r) =>
      restarts.push({ ...r, state: j.stats().state, probe: append(j, event()) }),
    ...extra,
  })
  await j.start()
  t.teardown(() => j.close())
  return { j, restarts }
}

/** Kill the writer thread from outside, the way a fatal error inside it would end it. */
function killWriterThread(j: SqliteJournal): Promise<number> {
  // Reach the private worker: the test must kill the real thread, not a stand-in.
  const internals = j as unknown as { writer: { worker: { terminate(): Promise<number> } | null } }
  const worker = internals.writer.worker
  if (!worker) throw new Error('the writer has no thread')
  return worker.terminate()
}

type Outcome = { event: NewEvent } & (
  { ok: true; entry: JournalEntry } | { ok: false; err: unknown }
)

function append(j: SqliteJournal, e: NewEvent): Promise<Outcome> {
  return j.append(e).then(
    (entry) => ({ event: e, ok: true as const, entry }),
    (err: unknown) => ({ event: e, ok: false as const, err }),
  )
}

function allPending(j: SqliteJournal): Map<number, JournalEntry> {
  const rows = new Map<number, JournalEntry>()
  for (let after = 0; ;) {
    const page = j.readPending(after, 1000)
    const last = page.at(-1)
    if (!last) return rows
    for (const e of page) rows.set(e.seq, e)
    after = last.seq
  }
}

/** Every resolved append is in the journal, byte-exact; every rejected one is a 503 refusal. */
function checkOutcomes(t: Test, outcomes: Outcome[], rows: Map<number, JournalEntry>): void {
  let missing = 0
  let wrong = 0
  const seqs = new Set<number>()
  for (const o of outcomes) {
    if (!o.ok) {
      if (!(o.err instanceof JournalUnavailableError))
        t.fail(`unexpected refusal: ${String(o.err)}`)
      continue
    }
    seqs.add(o.entry.seq)
    const row = rows.get(o.entry.seq)
    if (!row) {
      missing++
      continue
    }
    const same =
      row.id === o.event.id &&
      row.source === o.event.source &&
      row.contentType === o.event.contentType &&
      row.receivedAt === o.entry.receivedAt &&
      JSON.stringify(row.headers) === JSON.stringify(o.event.headers) &&
      Buffer.compare(row.body, o.event.body) === 0
    if (!same) wrong++
  }
  t.equal(missing, 0, 'no append was answered and then lost')
  t.equal(wrong, 0, 'every answered entry reads back byte-exact')
  t.equal(seqs.size, outcomes.filter((o) => o.ok).length, 'each answered append has its own seq')
}

t.test(
  'a writer thread killed under concurrent appends is restarted; nothing answered is lost',
  async (t) => {
    const dir = tempDir(t)
    const { j, restarts } = await open(t, dir)
    const outcomes: Outcome[] = []
    // In an object: TS would narrow a `let` to null here, not seeing the producers assign it.
    const kill: { done: Promise<number> | null } = { done: null }
    let afterKill: Promise<Outcome>[] = []

    // 16 producers append one event after another, so commits are always in flight. Once 300
    // were answered, one of them kills the writer thread and at once appends a burst: those
    // appends are queued behind the dying thread and can only be refused.
    const producer = async () => {
      while (!kill.done) {
        const o = await append(j, event())
        outcomes.push(o)
        if (!kill.done && outcomes.filter((x) => x.ok).length >= 300) {
          kill.done = killWriterThread(j)
          afterKill = Array.from({ length: 50 }, () => append(j, event()))
        }
      }
    }
    await Promise.all(Array.from({ length: 16 }, producer))
    t.equal(await kill.done, 1, 'the thread was terminated')
    const burst = await Promise.all(afterKill)
    outcomes.push(...burst)

    t.ok(
      burst.every((o) => !o.ok),
      'appends made after the thread was killed are refused, none answered 200',
    )
    const refused = outcomes.filter((o) => !o.ok)
    t.ok(
      refused.every(
        (o) => o.err instanceof JournalUnavailableError && o.err.cause instanceof WriterError,
      ),
      'refusals are journal_unavailable (503), caused by the writer error',
    )
    // src/server/ingest.ts answers any journal error without a code of its own this way.
    const code = errorCode(refused[0]?.err)
    t.equal(code, 'journal_unavailable')
    t.match(errorSpec(code ?? ''), { status: 503 }, 'answered 503, not 500')

    t.comment(
      `before the restart: ${outcomes.length - refused.length} answered, ${refused.length} refused`,
    )
    await until('the writer is back', () => j.stats().state === 'open')
    t.equal(restarts.length, 1, 'one restart')
    t.match(restarts[0], { attempt: 1, state: 'restarting', cause: WriterError })
    t.type(restarts[0]?.delayMs, 'number')

    // While it was restarting, appends were refused at once; now they succeed again.
    const after = await Promise.all(Array.from({ length: 200 }, () => append(j, event())))
    t.ok(
      after.every((o) => o.ok),
      'appends after the restart succeed',
    )
    outcomes.push(...after)
    await j.flush()

    const rows = allPending(j)
    checkOutcomes(t, outcomes, rows)
    t.equal(j.stats().pending, rows.size, 'the pending count was recounted after the restart')
    const marked = [...rows.keys()].slice(0, 10)
    await j.markForwarded(marked)
    t.equal(j.stats().pending, rows.size - 10, 'marks work on the new thread')

    // And the file holds them: a journal opened afresh on it reads the same entries.
    await j.close()
    const again = await open(t, dir)
    const reread = allPending(again.j)
    t.equal(reread.size, rows.size - 10)
    checkOutcomes(
      t,
      outcomes.filter((o) => !o.ok || !marked.includes(o.entry.seq)),
      reread,
    )
  },
)

t.test('while restarting, appends are refused at once with journal_unavailable', async (t) => {
  const { j, restarts } = await open(t, tempDir(t))
  t.ok((await j.append(event())).seq > 0)
  await killWriterThread(j)
  await until('the writer is back', () => restarts.length > 0 && j.stats().state === 'open')
  const probe = await restarts[0]?.probe
  t.equal(probe?.ok, false, 'an append while restarting does not wait for the new thread')
  t.type(probe?.ok === false && probe.err, JournalUnavailableError)
  t.match(probe?.ok === false && (probe.err as Error).message, /restarting/)
  t.ok((await j.append(event())).seq > 0, 'accepted again')
})

t.test('close during a restart stops it and leaves no thread', async (t) => {
  const { j, restarts } = await open(t, tempDir(t))
  await killWriterThread(j)
  await until('the restart is scheduled', () => restarts.length > 0)
  await j.close()
  await tick()
  const internals = j as unknown as { writer: { worker: unknown; restartTimer: unknown } }
  t.equal(internals.writer.worker, null, 'no writer thread is left')
  t.equal(internals.writer.restartTimer, null, 'no restart is pending')
  t.equal(restarts.length, 1)
})

t.test('a restarted thread that dies before answering a request is a failed restart', async (t) => {
  // No background compaction: its request, answered by the new thread before the second kill,
  // would prove the restart and make this an ordinary one.
  const { j, restarts } = await open(t, tempDir(t), {
    writerRestartAttempts: 1,
    compactIntervalMs: 0,
  })
  await killWriterThread(j)
  await until('the writer is back', () => restarts.length === 1 && j.stats().state === 'open')
  await killWriterThread(j)
  await until('the journal gave up', () => j.stats().state === 'failed')
  t.same(
    restarts.map((r) => [r.attempt, r.delayMs === null, r.state]),
    [
      [1, false, 'restarting'],
      [1, true, 'failed'],
    ],
  )
  await t.rejects(j.append(event()), JournalUnavailableError)
})

t.test('the writer killed repeatedly is restarted every time', async (t) => {
  const { j, restarts } = await open(t, tempDir(t), { writerRestartAttempts: 1 })
  for (let round = 1; round <= 3; round++) {
    t.ok((await j.append(event())).seq > 0, `round ${round}: accepted`)
    await killWriterThread(j)
    await until('the writer is back', () => restarts.length === round && j.stats().state === 'open')
  }
  t.same(
    restarts.map((r) => r.attempt),
    [1, 1, 1],
    'a thread that answered a request was a successful restart: the count starts again',
  )
  t.equal(j.stats().pending, 3)
})

failOnLeaks(t)
