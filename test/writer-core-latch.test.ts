import t from 'tap'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { buildIoFault, iofaultUnavailable } from './helpers/iofault.js'

// WriterCore latches on an I/O error: a compaction whose fsync fails with EIO (the LD_PRELOAD
// shim, test/fixtures/iofault/iofault.c, in a child) leaves the writer refusing commits, marks
// and compactions, even once fsync works again, until recover() succeeds. Without the latch the
// commit queued behind the failed compaction fsyncs fine and would be acknowledged.

const child = fileURLToPath(new URL('./fixtures/writer-core-latch.ts', import.meta.url))
const loaderArgs = process.execArgv.filter((a) => a.includes('@tapjs/typescript'))

interface Step {
  step: string
  ok: boolean
  code?: string
  io?: boolean
}

const skip = iofaultUnavailable()
t.test('an I/O error latches the writer until recover()', { skip: skip ?? false }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-latch-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const path = join(dir, 'journal.db')
  const env = { ...process.env, ...buildIoFault(dir, path) }
  const out = execFileSync(process.execPath, [...loaderArgs, child, path, dir], {
    env,
    encoding: 'utf8',
  })
  const steps = new Map<string, Step>()
  for (const line of out.split('\n').filter((l) => l.startsWith('{'))) {
    const s = JSON.parse(line) as Step
    steps.set(s.step, s)
  }
  t.comment(out.trim())
  t.match(steps.get('commit before'), { ok: true }, 'commits while the disk works')
  t.match(
    steps.get('compact during fault'),
    { ok: false, io: true },
    'the compaction fails with an I/O error (its fsync answered EIO)',
  )
  for (const op of ['commit', 'mark', 'compact'])
    t.match(
      steps.get(`${op} after fault`),
      { ok: false, io: true, code: 'SQLITE_IOERR' },
      `${op} is refused with an I/O-class error although fsync works again`,
    )
  t.match(steps.get('recover'), { ok: true }, 'recover() succeeds once the disk works')
  t.match(steps.get('commit after recover'), { ok: true }, 'commits again after recover()')
})
