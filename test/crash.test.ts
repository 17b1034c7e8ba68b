import t from 'tap'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import http from 'node:http'
import { randomBytes, randomInt } from 'node:crypto'
import type { ChildProcess } from 'node:child_process'
import { JOURNAL_ONLY_ENV, spawnSluice, waitForLog } from './helpers/spawn.js'
import { SqliteJournal } from '../journal/index.js'
import { failOnLeaks } from './helpers/leaks.js'

const TOTAL = 4000
const CLIENTS = 48

function post(agent: http.Agent, port: number, id: string, body: Buffer): Promise<number> {
  return new Promise((resolve) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        path: '/webhook',
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/octet-stream', 'idempotency-key': id },
      },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (d: Buffer) => chunks.push(d))
        res.on('end', () => {
          const ok =
            res.statusCode === 200 &&
            (JSON.parse(Buffer.concat(chunks).toString()) as { id?: unknown }).id === id
          resolve(ok ? 200 : (res.statusCode ?? 0))
        })
        res.on('error', () => resolve(0))
      },
    )
    req.on('error', () => resolve(0))
    req.end(body)
  })
}

const variants: Array<[string, (env: NodeJS.ProcessEnv) => ChildProcess]> = [
  ['sluice start (inline writer)', (env) => spawnSluice(['start'], env)],
]

for (const [name, start] of variants) {
  t.test(`kill -9 under load, ${name}: every 200 is in the journal byte for byte`, async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-crash-'))
    t.teardown(() => rmSync(dir, { recursive: true, force: true }))
    // The broker and the database are unreachable on purpose, so the forwarder cannot drain the
    // journal: every acknowledged event must then still be in it (the journal's own promise).
    const child = start({
      PORT: '0',
      HOST: '127.0.0.1',
      SLUICE_DATA_DIR: dir,
      ...JOURNAL_ONLY_ENV,
    })
    const exited = new Promise<NodeJS.Signals | null>((r) => child.once('exit', (_c, s) => r(s)))
    t.teardown(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    })
    const listening = await waitForLog(child, (l) => l.msg === 'listening')
    const port = Number(listening.port)
    t.ok(port > 0, `engine listening on ${port}`)

    const agent = new http.Agent({ keepAlive: true, maxSockets: CLIENTS })
    t.teardown(() => agent.destroy())
    const acked = new Map<string, Buffer>()
    const killAfter = randomInt(300, TOTAL - 500)
    let next = 0
    let killed = false
    const client = async () => {
      while (next < TOTAL) {
        const i = next++
        const id = `crash-${i}`
        const body = randomBytes(randomInt(1, 4096))
        const status = await post(agent, port, id, body)
        if (status === 200) acked.set(id, body)
        if (!killed && acked.size >= killAfter) {
          killed = true
          child.kill('SIGKILL')
        }
        if (killed && status !== 200) return
      }
    }
    await Promise.all(Array.from({ length: CLIENTS }, client))
    t.equal(await exited, 'SIGKILL', 'engine was killed with SIGKILL')
    t.ok(
      acked.size >= killAfter,
      `${acked.size} events acknowledged before the kill (planned ${killAfter})`,
    )

    const journal = new SqliteJournal({ dataDir: dir })
    await journal.start()
    t.teardown(() => journal.close())
    const entries = journal.readPending(0, TOTAL * 2)
    const byId = new Map(entries.map((e) => [e.id, e]))
    t.equal(byId.size, entries.length, 'no id journaled twice')
    let missing = 0
    let differing = 0
    for (const [id, body] of acked) {
      const e = byId.get(id)
      if (!e) missing++
      else if (!e.body.equals(body) || e.headers['idempotency-key'] !== id) differing++
    }
    t.equal(missing, 0, 'no acknowledged event is missing')
    t.equal(differing, 0, 'every acknowledged event is byte for byte as sent')
    for (let i = 1; i < entries.length; i++) {
      if (entries[i]!.seq <= entries[i - 1]!.seq) t.fail('seq not increasing')
    }
  })
}

failOnLeaks(t)
