import t from 'tap'
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { LocalBroker } from '../src/brokers/local/broker.js'
import { QueueStore } from '../src/brokers/local/store.js'
import Database from 'better-sqlite3'
import { Inbox, makeEvent } from './helpers/broker-fixtures.js'
import { until } from './helpers/wait.js'
import { failOnLeaks } from './helpers/leaks.js'

const crashScript = fileURLToPath(new URL('./helpers/local-broker-crash.ts', import.meta.url))
const loaderArgs = process.execArgv.filter((a) => a.startsWith('--import'))

t.test('a lease held by a killed process expires and the message is delivered again', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'sluice-local-crash-'))
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }))
  const child = spawn(process.execPath, [...loaderArgs, crashScript, dataDir], {
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  let out = ''
  child.stdout.on('data', (d: Buffer) => (out += d.toString()))
  const signal = await new Promise((resolve) => child.on('exit', (_code, sig) => resolve(sig)))
  t.equal(signal, 'SIGKILL', 'the child died holding the lease')
  t.match(out, /leased crash-1 1/)

  const broker = new LocalBroker({ dataDir, leaseMs: 500, pollIntervalMs: 20 })
  t.teardown(() => broker.close())
  await broker.start()
  const d = await (await new Inbox(broker).subscribe(1)).nth(1)
  t.equal(d.event.id, 'crash-1', 'redelivered after the lease ran out')
  t.equal(d.attempt, 2)
  await d.ack()
})

t.test('a held lease is extended while the handler works', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'sluice-local-lease-'))
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }))
  const a = new LocalBroker({ dataDir, leaseMs: 600, pollIntervalMs: 10 })
  const b = new LocalBroker({ dataDir, leaseMs: 600, pollIntervalMs: 10 })
  t.teardown(async () => {
    await a.close()
    await b.close()
  })
  await a.start()
  await b.start()
  await a.publish([
    {
      id: 'slow',
      source: 's',
      receivedAt: 1,
      contentType: 't',
      headers: {},
      body: Buffer.from('1'),
      verifiedBy: null,
    },
    {
      id: 'marker',
      source: 's',
      receivedAt: 2,
      contentType: 't',
      headers: {},
      body: Buffer.from('2'),
      verifiedBy: null,
    },
  ])
  const held = await (await new Inbox(a).subscribe(1)).nth(1)
  const leasedAt = Date.now()
  t.equal(held.event.id, 'slow')
  // b only sees what a does not hold; hold 'slow' until its lease was pushed several periods on,
  // and b looks while the lease still runs (a stalled process can leave it just expired).
  await until('the lease was extended past three lease periods', () => {
    const db = new Database(join(dataDir, 'queue.db'), { readonly: true })
    try {
      const row = db.prepare("SELECT available_at FROM messages WHERE id = 'slow'").get() as
        { available_at: number } | undefined
      const leasedUntil = row?.available_at ?? 0
      return leasedUntil > leasedAt + 3 * 600 && leasedUntil > Date.now() + 300
    } finally {
      db.close()
    }
  })
  const other = await (await new Inbox(b).subscribe(1)).nth(1)
  t.equal(other.event.id, 'marker', 'the held message was not handed to another consumer')
  await held.ack()
  await other.ack()
})

t.test('retry never dead-letters: the attempt keeps counting and the message stays', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'sluice-local-retry-'))
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }))
  const broker = new LocalBroker({ dataDir, pollIntervalMs: 10 })
  t.teardown(() => broker.close())
  await broker.start()
  const e = makeEvent()
  await broker.publish([e])
  const inbox = await new Inbox(broker).subscribe(1)
  const first = await inbox.nth(1)
  const retriedAt = Date.now()
  await first.retry(300)
  const second = await inbox.nth(2)
  t.ok(Date.now() - retriedAt >= 300, 'not before the delay')
  t.equal(second.attempt, 2)
  for (let i = 2; i < 20; i++) await (await inbox.nth(i)).retry(0)
  const last = await inbox.nth(20)
  t.equal(last.attempt, 20)
  t.same(last.event, e)
  await last.ack()
  await broker.close()
  const db = new Database(join(dataDir, 'queue.db'), { readonly: true })
  t.equal((db.prepare('SELECT count(*) AS n FROM messages').get() as { n: number }).n, 0)
  t.equal(
    db.prepare("SELECT 1 FROM sqlite_master WHERE name = 'dead'").get(),
    undefined,
    'a new queue file has no dead table',
  )
  db.close()
})

t.test('a traceparent is kept with its message; an event without one has none', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'sluice-local-trace-'))
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }))
  const store = new QueueStore(dataDir, 'normal')
  t.teardown(() => store.close())
  const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'
  const [traced, plain] = [makeEvent({ traceparent }), makeEvent()]
  store.insert([traced, plain], Date.now())
  const leased = store.lease(2, Date.now(), 60_000).map((l) => l.event)
  t.same(leased, [traced, plain])
  t.equal(leased[0]!.traceparent, traceparent, 'leased with it')
  t.notOk('traceparent' in leased[1]!, 'no traceparent key at all')
  t.same(
    store.page(0, 2).map((p) => 'traceparent' in p.event),
    [true, false],
    'the same when paged (sluice queue move)',
  )
})

t.test('leases and acks skip the fsync; inserts on a full queue still wait for it', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'sluice-local-sync-'))
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }))
  const store = new QueueStore(dataDir, 'full')
  t.teardown(() => store.close())
  // The level each commit runs at (SQLite: 2 FULL, 1 NORMAL), from the connection's pragma calls.
  const db = (store as unknown as { db: Database.Database }).db
  const level = () => db.pragma('synchronous', { simple: true }) as number
  const pragma = db.pragma.bind(db)
  let current = level()
  db.pragma = (source: string, options?: Database.PragmaOptions) => {
    const set = /^synchronous = (\w+)$/.exec(source)
    if (set) current = set[1] === 'FULL' ? 2 : 1
    return pragma(source, options)
  }
  const commits: number[] = []
  const transaction = db.transaction.bind(db)
  db.transaction = ((fn: (...args: unknown[]) => unknown) =>
    transaction((...args: unknown[]) => {
      commits.push(current)
      return fn(...args)
    })) as typeof db.transaction
  const insert = () => store.insert([makeEvent()], Date.now())
  insert()
  const [leased] = store.lease(1, Date.now(), 60_000)
  store.ack([leased!.seq])
  insert()
  t.same(commits, [2, 1, 1, 2], 'insert FULL, lease and ack NORMAL, the next insert FULL')
  t.equal(level(), 2, 'the connection is FULL again')
})

t.test('options are checked', async (t) => {
  t.throws(() => new LocalBroker({ dataDir: '' }), /options.dataDir/)
  t.throws(() => new LocalBroker({ dataDir: '/tmp/x', leaseMs: 0 }), /options.leaseMs/)
  t.throws(
    () => new LocalBroker({ dataDir: '/tmp/x', synchronous: 'off' as 'full' }),
    /options.synchronous/,
  )
})

failOnLeaks(t)
