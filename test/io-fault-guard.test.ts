import t from 'tap'
import { IoFaultGuard, isIoFault, type IoFaultReport } from '../journal/io-fault.js'
import { JournalUnavailableError } from '../journal/errors.js'
import { failOnLeaks } from './helpers/leaks.js'
import { until } from './helpers/wait.js'

const sqliteError = (code: string) => Object.assign(new Error(code), { code })

t.test('isIoFault: SQLite I/O and disk-full codes only', async (t) => {
  t.ok(isIoFault(sqliteError('SQLITE_IOERR_FSYNC')))
  t.ok(isIoFault(sqliteError('SQLITE_IOERR_WRITE')))
  t.ok(isIoFault(sqliteError('SQLITE_FULL')))
  t.notOk(isIoFault(sqliteError('SQLITE_BUSY')))
  t.notOk(isIoFault(sqliteError('SQLITE_CONSTRAINT_UNIQUE')))
  t.notOk(isIoFault(new Error('journal writer thread exited with code 1')))
  t.notOk(isIoFault(null))
})

t.test('held closed from the fault until a recovery succeeds, by itself', async (t) => {
  const reports: IoFaultReport[] = []
  let failures = 2
  let attempts = 0
  const guard = new IoFaultGuard(
    async () => {
      attempts++
      if (failures-- > 0) throw sqliteError('SQLITE_IOERR_FSYNC')
    },
    (r) => reports.push(r),
  )
  t.teardown(() => guard.close())
  t.equal(guard.observe(sqliteError('SQLITE_BUSY')), false, 'other errors are not faults')
  t.notOk(guard.faulted)
  t.doesNotThrow(() => guard.check())

  t.equal(guard.observe(sqliteError('SQLITE_IOERR_FSYNC')), true)
  t.ok(guard.faulted)
  const refusal = (() => {
    try {
      guard.check()
    } catch (err) {
      return err
    }
    return undefined
  })()
  t.ok(refusal instanceof JournalUnavailableError, 'refused as journal_unavailable')
  t.match((refusal as Error).message, /I\/O error/)
  t.equal((refusal as Error).cause, undefined, 'a refusal has no cause: it is not logged again')
  t.equal(guard.observe(sqliteError('SQLITE_FULL')), true, 'a second fault while held')
  t.match(reports, [{ attempt: 0, recovered: false }], 'the fault is reported once')

  await until('recovered', () => !guard.faulted)
  t.equal(attempts, 3, 'two failed recoveries, then one that went through')
  t.match(reports.at(-1), { recovered: true, attempt: 3 })
  t.equal(reports.filter((r) => r.attempt === 2).length, 0, 'not every failed attempt is reported')
  t.doesNotThrow(() => guard.check(), 'open again')
})

t.test('close stops the recovery timer', async (t) => {
  // Two guards whose recoveries always fail: one closed after its first attempt, one left
  // running as the clock. By the time the running one made three more attempts (each backoff
  // at least as long as the closed one's next would have been), a closed guard whose timer
  // still ran would have made at least one more. A count, not a duration.
  const attempts = { closed: 0, running: 0 }
  const failing = (which: keyof typeof attempts) => async () => {
    attempts[which]++
    throw sqliteError('SQLITE_IOERR_FSYNC')
  }
  const closed = new IoFaultGuard(failing('closed'), () => {})
  const running = new IoFaultGuard(failing('running'), () => {})
  t.teardown(() => running.close())
  closed.observe(sqliteError('SQLITE_FULL'))
  running.observe(sqliteError('SQLITE_FULL'))
  await until('one attempt', () => attempts.closed > 0)
  await closed.close()
  const after = { ...attempts }
  await until(
    'three more attempts of the running guard',
    () => attempts.running >= after.running + 3,
    30_000,
  )
  t.equal(attempts.closed, after.closed, 'no attempt after close')

  // A fault observed after close is not recovered either: it schedules nothing.
  let late = 0
  const idle = new IoFaultGuard(
    async () => void late++,
    () => {},
  )
  await idle.close()
  t.equal(idle.observe(sqliteError('SQLITE_FULL')), true, 'still recognised as a fault')
  await until(
    'three more attempts of the running guard',
    () => attempts.running >= after.running + 6,
    30_000,
  )
  t.equal(late, 0, 'a guard closed before its fault never tries to recover')
})

failOnLeaks(t)
