import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { chownSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync } from 'node:fs'
import { closeSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { alive, isPostgres, killCluster } from './pg-processes.js'
import { until } from './wait.js'

const PREFIX = 'sluice-own-pg-'
const SETPRIV = '/usr/bin/setpriv'

/**
 * A PostgreSQL server of the test's own, for tests that kill it: the system one on 5432 is
 * shared with other tests and must never be stopped. One initdb per instance (a few seconds);
 * kill9() ends the postmaster and every backend at once, the way a crash or an OOM kill does,
 * and start() again on the same port and data directory runs crash recovery.
 */
export class OwnPostgres {
  private child: ChildProcess | null = null

  private constructor(
    readonly dir: string,
    readonly port: number,
    private readonly bin: string,
    private readonly ids: { uid: number; gid: number } | undefined,
  ) {}

  get url(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`
  }

  /** initdb into a new temp directory (after removing what a crashed earlier run left). */
  static async create(): Promise<OwnPostgres> {
    cleanStale()
    const bin = postgresBin()
    // Postgres refuses to run as root: as root, the cluster belongs to the postgres user.
    const ids = process.getuid?.() === 0 ? postgresIds() : undefined
    const dir = mkdtempSync(join(tmpdir(), PREFIX))
    // Whose it is: a later run removes it only once this process is gone.
    writeFileSync(join(dir, 'owner.pid'), String(process.pid))
    if (ids) chownSync(dir, ids.uid, ids.gid)
    execFileSync(
      join(bin, 'initdb'),
      ['-D', join(dir, 'data'), '-U', 'postgres', '-A', 'trust', '--no-sync', '-E', 'UTF8'],
      { ...ids, stdio: 'ignore', env: { ...process.env, LC_ALL: 'C' } },
    )
    return new OwnPostgres(dir, await freePort(), bin, ids)
  }

  /** Starts the postmaster and resolves once it answers queries (after any crash recovery). */
  async start(): Promise<void> {
    const log = openSync(join(this.dir, 'postgres.log'), 'a')
    const args = ['-D', join(this.dir, 'data'), '-p', String(this.port), '-k', this.dir]
    for (const c of [
      'listen_addresses=127.0.0.1',
      'fsync=on', // crash recovery is the point: no shortcuts on durability
      'shared_buffers=32MB',
      'max_connections=100',
    ]) {
      args.push('-c', c)
    }
    // Through setpriv (which execs, so the child's pid is the postmaster's): a parent-death
    // signal, so a test process that dies without its teardown does not leave the server behind
    // (its backends exit by themselves once the postmaster is gone). Without setpriv, the next
    // create() removes it (cleanStale).
    const postgres = join(this.bin, 'postgres')
    this.child = existsSync(SETPRIV)
      ? spawn(SETPRIV, ['--pdeathsig', 'KILL', ...this.asOwner(), postgres, ...args], {
          stdio: ['ignore', log, log],
        })
      : spawn(postgres, args, { ...this.ids, stdio: ['ignore', log, log] })
    closeSync(log)
    this.child.on('error', () => {})
    await until(
      'own postgres answers',
      async () => {
        const c = new pg.Client({ connectionString: this.url })
        c.on('error', () => {})
        try {
          await c.connect()
          await c.query('SELECT 1')
          return true
        } catch {
          return false
        } finally {
          await c.end().catch(() => {})
        }
      },
      120_000,
      100,
    )
  }

  /** setpriv's arguments that run the server as its owner (postgres when the test is root). */
  private asOwner(): string[] {
    if (!this.ids) return []
    return ['--reuid', String(this.ids.uid), '--regid', String(this.ids.gid), '--clear-groups']
  }

  /** kill -9 of the postmaster and all its backends; resolves when none of them is left. */
  async kill9(): Promise<void> {
    const pid = this.child?.pid ?? postmasterPid(join(this.dir, 'data'))
    if (pid !== null && pid !== undefined) await killCluster(pid)
    this.child = null
  }

  /**
   * `pg_ctl stop -m immediate` (what `pg_ctlcluster ... stop -m immediate` runs): SIGQUIT to the
   * postmaster, which ends every backend at once without a checkpoint, so the start that follows
   * runs crash recovery as after kill -9. Resolves when the postmaster has exited.
   */
  async stopImmediate(): Promise<void> {
    const child = this.child
    if (!child || child.exitCode !== null || child.signalCode !== null) return
    const exited = new Promise((r) => child.once('exit', r))
    child.kill('SIGQUIT')
    await exited
    this.child = null
  }

  /** The server's own log (crash recovery shows there), for a failed assertion to print. */
  log(): string {
    return readFileSync(join(this.dir, 'postgres.log'), 'utf8')
  }

  /** Kills it and removes its directory. */
  async destroy(): Promise<void> {
    await this.kill9()
    rmSync(this.dir, { recursive: true, force: true })
  }
}

function postmasterPid(dataDir: string): number | null {
  try {
    const pid = Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0])
    return Number.isInteger(pid) && pid > 0 ? pid : null
  } catch {
    return null
  }
}

/** Clusters of earlier runs whose test process is gone: killed and removed. */
function cleanStale(): void {
  for (const name of readdirSync(tmpdir())) {
    if (!name.startsWith(PREFIX)) continue
    const dir = join(tmpdir(), name)
    let owner = NaN
    try {
      owner = Number(readFileSync(join(dir, 'owner.pid'), 'utf8'))
    } catch {
      /* half-made: no owner file */
    }
    if (Number.isInteger(owner) && alive(owner)) continue
    const pid = postmasterPid(join(dir, 'data'))
    // Fire and forget is not enough: the port and memory must be free; but this is best effort.
    if (pid !== null && isPostgres(pid)) void killCluster(pid).catch(() => {})
    rmSync(dir, { recursive: true, force: true })
  }
}

/** The newest installed server's bin directory (Debian layout), or PG_BIN. */
function postgresBin(): string {
  if (process.env.PG_BIN) return process.env.PG_BIN
  const root = '/usr/lib/postgresql'
  const versions = existsSync(root) ? readdirSync(root).filter((v) => /^\d+$/.test(v)) : []
  const newest = versions.sort((a, b) => Number(b) - Number(a))[0]
  if (!newest) throw new Error(`no PostgreSQL server under ${root}; set PG_BIN`)
  return join(root, newest, 'bin')
}

function postgresIds(): { uid: number; gid: number } {
  const uid = Number(execFileSync('id', ['-u', 'postgres']).toString())
  const gid = Number(execFileSync('id', ['-g', 'postgres']).toString())
  return { uid, gid }
}

/** A port free on loopback right now (the server keeps it across its restarts). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const address = s.address()
      const port = typeof address === 'object' && address ? address.port : 0
      s.close(() => resolve(port))
    })
  })
}
