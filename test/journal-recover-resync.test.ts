import t from 'tap'
import Database from 'better-sqlite3'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { SqliteJournal, type NewEvent } from '../journal/index.js'
import type { IoFaultGuard, IoFaultReport } from '../journal/io-fault.js'
import { until } from './helpers/wait.js'

// After an I/O fault's recovery the journal counts its pending entries afresh: an operation
// around the fault may have reached the file against what its answer said. Simulated here: one
// row is deleted behind the journal's back (as a mark that reached the file while its answer was
// an error would), then the fault is entered through the journal's own guard (no disk fails, so
// the real recover() succeeds at once). Without the resync the count stayed at 3.

const event = (i: number): NewEvent => ({
  id: `resync-${i}`,
  source: 'default',
  contentType: 'application/json',
  headers: {},
  body: Buffer.from('{}'),
  verifiedBy: null,
})

t.test('a recovered I/O fault resyncs the pending count', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-resync-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const reports: IoFaultReport[] = []
  const j = new SqliteJournal({ dataDir: dir, onIoFault: (r) => reports.push(r) })
  await j.start()
  t.teardown(() => j.close())
  const entries = await Promise.all([0, 1, 2].map((i) => j.append(event(i))))
  t.equal(j.stats().pending, 3)

  const other = new Database(join(dir, 'journal.db'))
  other.prepare('DELETE FROM entries WHERE seq = ?').run(entries[0]!.seq)
  other.close()
  t.equal(j.stats().pending, 3, 'the running count does not know yet')

  // Test-only access: the guard is private; entering the fault through it is what a failed
  // writer operation does (sqlite-journal.ts calls observe with the error).
  const guard = (j as unknown as { faults: IoFaultGuard }).faults
  guard.observe(Object.assign(new Error('fsync'), { code: 'SQLITE_IOERR_FSYNC' }))
  await until('recovered', () => reports.some((r) => r.recovered), 30_000)
  t.equal(j.stats().pending, 2, 'counted afresh after the recovery')
})
