import t, { type Test } from 'tap'
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { collect, waitForLog } from './helpers/spawn.js'
import { failOnLeaks } from './helpers/leaks.js'

/**
 * `npm start` under a supervisor: it starts npm as its own process group and signals the pid it
 * started. npm used to run the engine through `sh -c`, so a SIGTERM killed npm and sh and left
 * the engine running, orphaned. The start script now execs the engine in place of sh.
 */
const root = fileURLToPath(new URL('..', import.meta.url))
// The first start runs prestart (tsc, tens of seconds, more on a busy machine).
const STARTUP_MS = 300_000

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

async function npmStart(t: Test, args: string[] = []) {
  const dataDir = mkdtempSync(join(tmpdir(), 'sluice-npm-start-'))
  const child: ChildProcess = spawn('npm', ['start', ...args], {
    cwd: root,
    // Its own process group (detached), as a supervisor gives it, so the test can check that
    // no member of the group is left afterwards.
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      PORT: '0',
      SLUICE_ADMIN_PORT: '0',
      HOST: '127.0.0.1',
      SLUICE_DATA_DIR: dataDir,
      SLUICE_WORKERS: '1',
      SLUICE_LOG_LEVEL: 'info',
      // A bound far off: the graceful stop must not turn into the timeout's forced exit.
      SLUICE_SHUTDOWN_TIMEOUT_MS: '120000',
    },
  })
  const group = child.pid!
  t.teardown(() => {
    if (alive(-group)) process.kill(-group, 'SIGKILL')
    rmSync(dataDir, { recursive: true, force: true })
  })
  const output = collect(child)
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)))
  const listening = await waitForLog(child, (l) => l.msg === 'listening', STARTUP_MS).catch(
    async (err: unknown) => {
      if (alive(-group)) process.kill(-group, 'SIGKILL')
      const { stdout, stderr } = await output // e.g. prestart's tsc errors
      throw new Error(`${(err as Error).message}:\n${stdout}${stderr}`.slice(-4000), { cause: err })
    },
  )
  return { group, enginePid: Number(listening.pid), output, exited }
}

/** After npm exited: the engine and every other member of npm's group must be gone. */
async function assertStoppedCleanly(t: Test, run: Awaited<ReturnType<typeof npmStart>>) {
  const code = await run.exited
  t.equal(code, 0, 'npm exits 0')
  t.notOk(alive(run.enginePid), `the engine (pid ${run.enginePid}) is gone`)
  t.notOk(alive(-run.group), 'nothing is left in the process group')
  // Should the engine have been orphaned, kill it so its pipes close and the output resolves.
  if (alive(-run.group)) process.kill(-run.group, 'SIGKILL')
  const { stdout } = await run.output
  t.match(stdout, /"msg":"shutting down"/, 'the engine logged the start of its graceful stop')
  t.match(stdout, /"msg":"stopped"/, 'and its end')
  t.notMatch(stdout, /forcing exit/, 'not a forced exit')
}

t.test('SIGTERM to the pid of npm start stops the engine gracefully', async (t) => {
  const run = await npmStart(t)
  t.not(run.enginePid, run.group, 'the engine runs under npm')
  process.kill(run.group, 'SIGTERM')
  await assertStoppedCleanly(t, run)
})

t.test(
  "Ctrl-C (SIGINT to the whole group): npm's forwarded copy is not a second signal",
  async (t) => {
    // Built by the test above; prestart is skipped so this one starts quickly.
    const run = await npmStart(t, ['--ignore-scripts'])
    process.kill(-run.group, 'SIGINT')
    await assertStoppedCleanly(t, run)
  },
)

failOnLeaks(t)
