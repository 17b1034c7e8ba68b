import t from 'tap'
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { Agent } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { onJsonLines } from '../bench/proc.js'
import { last, parseDockerfile, stageEnv } from './helpers/dockerfile.js'
import { post } from './helpers/post.js'
import { assembleRuntime, buildStage } from './helpers/production-install.js'
import { until } from './helpers/wait.js'

// The image without Docker: the runtime stage's files assembled as its COPY lines say (from
// `npm ci --omit=dev` and a fresh build), started with its ENTRYPOINT + CMD as a direct child
// (no shell, no npm), with its ENV, on embedded defaults (embedded Postgres, local queue).
// Where this machine allows a PID namespace, node runs there as PID 1, as in a container
// (a PID 1 ignores every signal it has no handler for), and gets SIGTERM as `docker stop` sends it.
const root = fileURLToPath(new URL('..', import.meta.url))
const runtime = parseDockerfile(join(root, 'Dockerfile')).at(-1)!
const command = [
  ...(last(runtime, 'ENTRYPOINT')?.exec ?? []),
  ...(last(runtime, 'CMD')?.exec ?? []),
]
const asPid1 = spawnSync('unshare', ['--pid', '--fork', 'true']).status === 0

const built = buildStage()
const app = assembleRuntime(runtime, built)
const data = mkdtempSync(join(tmpdir(), 'sluice-image-data-'))
const secrets = mkdtempSync(join(tmpdir(), 'sluice-image-secrets-'))
const TOKEN = 'image-test-token-0123456789'
writeFileSync(join(secrets, 'admin-token'), `${TOKEN}\n`, { mode: 0o600 })
t.teardown(() => {
  for (const dir of [app, built, data, secrets]) rmSync(dir, { recursive: true, force: true })
})

interface Running {
  child: ChildProcess
  /** The engine's pid (node's, also when it runs as PID 1 of its own namespace). */
  pid: number
  port: number
  adminPort: number
  exited: Promise<number | null>
}

async function startImage(): Promise<Running> {
  const [program = '', ...args] = command
  const node = program === 'node' ? process.execPath : program
  const argv = asPid1 ? ['--pid', '--fork', '--kill-child', node, ...args] : args
  const env = {
    PATH: process.env.PATH,
    HOME: data,
    ...stageEnv(runtime),
    SLUICE_DATA_DIR: data,
    PORT: '0',
    HOST: '127.0.0.1',
    SLUICE_ADMIN_HOST: '127.0.0.1',
    SLUICE_ADMIN_PORT: '0',
    SLUICE_ADMIN_TOKEN_FILE: join(secrets, 'admin-token'),
    SLUICE_WORKERS: '1',
    ...(process.env.DEBUG_LOG ? { SLUICE_LOG_LEVEL: 'debug' } : {}),
  }
  // Its own process group, so that the check for leftovers below sees any process it started.
  const child = spawn(asPid1 ? 'unshare' : node, argv, { cwd: app, env, detached: true })
  child.stderr.on('data', () => {})
  // Killed by the teardown when a failed assertion left it running, so tap can end.
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) process.kill(-child.pid!, 'SIGKILL')
  })
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)))
  const lines: Record<string, unknown>[] = []
  onJsonLines(child.stdout, (l) => void lines.push(l))
  if (process.env.DEBUG_LOG) child.stdout.pipe(process.stderr)
  await Promise.race([
    until('the engine logs listening', () => lines.some((l) => l.msg === 'listening'), 120_000),
    exited.then((code) => Promise.reject(new Error(`the engine exited with ${code} at start`))),
  ])
  const find = (msg: string) => lines.find((l) => l.msg === msg)!
  return {
    child,
    pid: asPid1 ? enginePid(child.pid!) : child.pid!,
    port: Number(find('listening').port),
    adminPort: Number(find('admin listening').port),
    exited,
  }
}

/** The children of a process, from /proc (the engine under unshare, or none under the engine). */
function childrenOf(pid: number): number[] {
  return readdirSync(`/proc/${pid}/task`).flatMap((task) =>
    readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8')
      .split(' ')
      .filter(Boolean)
      .map(Number),
  )
}

function enginePid(unsharePid: number): number {
  const [pid] = childrenOf(unsharePid)
  if (pid === undefined) throw new Error('unshare has no child')
  return pid
}

/** True while any process of the group started for the engine is alive. */
function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0)
    return true
  } catch {
    return false
  }
}

async function databaseUp(port: number): Promise<boolean> {
  const res = await fetch(`http://127.0.0.1:${port}/readyz`)
  const body = (await res.json()) as { checks: { database?: { state?: string } } }
  return res.ok && body.checks.database?.state === 'up'
}

async function storedIds(adminPort: number): Promise<string[]> {
  const ids: string[] = []
  let cursor: string | null = null
  do {
    const q: string = cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''
    const res = await fetch(`http://127.0.0.1:${adminPort}/v1/events?limit=1000${q}`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    })
    if (!res.ok) return [] // the pipeline thread is not up yet: asked again
    const page = (await res.json()) as { data: { id: string }[]; nextCursor: string | null }
    ids.push(...page.data.map((e) => e.id))
    cursor = page.nextCursor
  } while (cursor)
  return ids
}

t.test('SIGTERM to the image command while requests are in flight loses no 200', async (t) => {
  t.comment(`${command.join(' ')} ${asPid1 ? 'as PID 1 of a new PID namespace' : 'as a child'}`)
  const first = await startImage()
  t.same(childrenOf(first.pid), [], 'the engine starts no child processes (nothing to reap)')
  const page = await fetch(`http://127.0.0.1:${first.adminPort}/`)
  t.equal(page.status, 200, 'the operator page is built from what the image holds')
  t.match(await page.text(), /<style>[^]*col\.w-flow/, 'with every stylesheet it inlines')
  // As the image's healthcheck and an orchestrator would: load once the engine is ready with
  // its embedded database up (a stop while PGlite still starts waits for that start).
  await until('the embedded database is up', () => databaseUp(first.port), 120_000, 250)
  const url = `http://127.0.0.1:${first.port}/webhook`
  const agent = new Agent({ keepAlive: true, maxSockets: 16 })
  t.teardown(() => agent.destroy())
  const acknowledged = new Set<string>()
  const refusals: Record<string, number> = {}
  let inFlight = 0
  let down = false
  const client = async (c: number) => {
    for (let n = 0; !down; n++) {
      const key = `img-${c}-${n}`
      inFlight++
      try {
        const body = JSON.stringify({ type: 'image.test', key, pad: 'x'.repeat(1024) })
        const res = await post(url, body, { 'idempotency-key': key }, agent)
        if (res.status === 200) acknowledged.add((JSON.parse(res.body) as { id: string }).id)
        else refusals[res.status] = (refusals[res.status] ?? 0) + 1
      } catch {
        down = true // the listener is closed: the engine is stopping
      } finally {
        inFlight--
      }
    }
  }
  const clients = Promise.all(Array.from({ length: 16 }, (_, c) => client(c)))
  await until(
    '300 events are acknowledged',
    () => acknowledged.size >= 300 && inFlight > 0,
    120_000,
    1,
  )
  const inFlightAtSignal = inFlight
  process.kill(first.pid, 'SIGTERM')
  const code = await first.exited
  down = true
  await clients
  t.ok(inFlightAtSignal > 0, `${inFlightAtSignal} requests in flight at the signal`)
  t.equal(code, 0, 'the graceful stop exits 0')
  t.notOk(groupAlive(first.child.pid!), 'no process of the engine is left')
  t.comment(`acknowledged ${acknowledged.size}, refused ${JSON.stringify(refusals)}`)
  for (const status of Object.keys(refusals))
    t.equal(status, '503', 'a refusal is 503 shutting_down')

  const second = await startImage()
  let stored: string[] = []
  await until(
    'every acknowledged event is stored',
    async () => {
      stored = await storedIds(second.adminPort)
      return [...acknowledged].every((id) => stored.includes(id))
    },
    120_000,
    250,
  )
  t.equal(new Set(stored).size, stored.length, 'each once')
  t.ok(
    [...acknowledged].every((id) => stored.includes(id)),
    `all ${acknowledged.size} stored`,
  )
  process.kill(second.pid, 'SIGTERM')
  t.equal(await second.exited, 0)
  t.notOk(groupAlive(second.child.pid!), 'no process left after the second stop either')
})
