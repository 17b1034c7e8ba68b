import t from 'tap'
import { RwLock } from '../src/util/rw-lock.js'

const gate = () => {
  let open!: () => void
  const opened = new Promise<void>((r) => (open = r))
  return { open, opened }
}

t.test('an exclusive holder waits for shared holders in flight and runs alone', async (t) => {
  const lock = new RwLock()
  const log: string[] = []
  const a = gate()
  const reader = lock.shared(async () => {
    log.push('shared in')
    await a.opened
    log.push('shared out')
  })
  const writer = lock.exclusive(async () => log.push('exclusive'))
  // Asked for after the exclusive one: waits for it, so readers cannot starve a writer.
  const late = lock.shared(async () => log.push('late shared'))
  await new Promise((r) => setImmediate(r))
  t.same(log, ['shared in'], 'the exclusive holder waits for the shared one')
  a.open()
  await Promise.all([reader, writer, late])
  t.same(log, ['shared in', 'shared out', 'exclusive', 'late shared'])
})

t.test('shared holders run together; a throwing holder releases the lock', async (t) => {
  const lock = new RwLock()
  const a = gate()
  let together = 0
  const one = lock.shared(async () => {
    together++
    await a.opened
  })
  const two = lock.shared(async () => {
    together++
    await a.opened
  })
  await new Promise((r) => setImmediate(r))
  t.equal(together, 2, 'both shared holders are in')
  a.open()
  await Promise.all([one, two])
  await t.rejects(
    lock.exclusive(() => Promise.reject(new Error('boom'))),
    /boom/,
  )
  t.equal(await lock.exclusive(async () => 'free'), 'free', 'the lock is free again')
})
