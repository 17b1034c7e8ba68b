import { spawn, execFile, type ChildProcess } from 'node:child_process'
import { existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { until } from './wait.js'

const run = promisify(execFile)

/** Where the Debian/Ubuntu package keeps the real scripts (/usr/sbin's wrappers su to rabbitmq). */
const BIN = ['/usr/lib/rabbitmq/bin', '/usr/local/lib/rabbitmq/sbin', '/opt/rabbitmq/sbin'].find(
  (d) => existsSync(join(d, 'rabbitmq-server')),
)

/**
 * A fixed place, so a run that crashed leaves pid files the next run finds and kills (the nodes
 * are named after it, so two concurrent runs of this test on one machine would collide too).
 */
const BASE = join(tmpdir(), 'sluice-test-rabbit-cluster')

export const rabbitServerInstalled = (): boolean => BIN !== undefined

export interface ClusterNode {
  /** Erlang node name, e.g. sluice-t1@localhost. */
  name: string
  /** AMQP port on 127.0.0.1. */
  port: number
  distPort: number
  dir: string
  child: ChildProcess | null
}

/** A free TCP port on loopback (bound and released; good enough on a test machine). */
async function freePort(): Promise<number> {
  const s = net.createServer()
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r))
  const port = (s.address() as net.AddressInfo).port
  await new Promise((r) => s.close(r))
  return port
}

/**
 * A RabbitMQ cluster of `size` nodes on this machine, separate from the system node: each its own
 * RABBITMQ_NODENAME, AMQP port, distribution port, config file (the system rabbitmq.conf pins the
 * default listener to 5672), data and log directories, no plugins (management and prometheus
 * would bind their fixed ports), one Erlang cookie in a HOME of its own (so the system node's
 * cookie is neither read nor needed). Nodes run in the foreground as children of the test, so
 * the test can SIGKILL an Erlang VM and start it again on the same data.
 */
export class RabbitCluster {
  readonly nodes: ClusterNode[] = []
  private readonly home = join(BASE, 'home')

  constructor(readonly size = 3) {}

  /**
   * Kill nodes left by an earlier run that crashed (their pid files), remove their data. Refuses
   * when the run that owns them is still alive: it is running this test now.
   */
  static cleanStale(): void {
    const owner = Number(readOr(join(BASE, 'owner'), '0'))
    if (owner > 1 && owner !== process.pid && alive(owner)) {
      throw new Error(`another test run (pid ${owner}) is using the cluster in ${BASE}`)
    }
    for (let i = 1; i <= 9; i++) {
      const pidFile = join(BASE, `n${i}`, 'pid')
      const pid = Number(readOr(pidFile, '0'))
      if (Number.isSafeInteger(pid) && pid > 1 && isBeam(pid)) {
        try {
          process.kill(pid, 'SIGKILL')
        } catch {
          /* already gone */
        }
      }
    }
    rmSync(BASE, { recursive: true, force: true })
  }

  async start(): Promise<void> {
    RabbitCluster.cleanStale()
    mkdirSync(this.home, { recursive: true })
    writeFileSync(join(BASE, 'owner'), String(process.pid))
    writeFileSync(join(this.home, '.erlang.cookie'), `SLUICETESTCOOKIE${process.pid}`, {
      mode: 0o400,
    })
    for (let i = 1; i <= this.size; i++) {
      const dir = join(BASE, `n${i}`)
      mkdirSync(join(dir, 'log'), { recursive: true })
      const port = await freePort()
      const distPort = await freePort()
      writeFileSync(
        join(dir, 'rabbitmq.conf'),
        [
          `listeners.tcp.default = 127.0.0.1:${port}`,
          'loopback_users = none',
          // The test machine's disk is shared and often nearly full; an alarm would block publishes.
          'disk_free_limit.absolute = 1MB',
          'log.console = false',
          'log.file.level = info',
          '',
        ].join('\n'),
      )
      writeFileSync(join(dir, 'enabled_plugins'), '[].\n')
      writeFileSync(join(dir, 'rabbitmq-env.conf'), '')
      this.nodes.push({ name: `sluice-t${i}@localhost`, port, distPort, dir, child: null })
    }
    // Booted side by side (each is a separate VM), then joined to the first one by one.
    await Promise.all(this.nodes.map((n) => this.startNode(n)))
    for (const n of this.nodes.slice(1)) {
      await this.ctl(n, 'stop_app')
      await this.ctl(n, 'join_cluster', this.nodes[0]!.name)
      await this.ctl(n, 'start_app')
    }
    await until(
      'every node sees the whole cluster running',
      async () => (await this.runningNodes(this.nodes[0]!)).length === this.size,
      120_000,
      500,
    )
  }

  private env(n: ClusterNode): NodeJS.ProcessEnv {
    return {
      PATH: process.env.PATH,
      HOME: this.home,
      LANG: 'C.UTF-8',
      RABBITMQ_NODENAME: n.name,
      RABBITMQ_USE_LONGNAME: 'false',
      RABBITMQ_NODE_PORT: String(n.port),
      RABBITMQ_DIST_PORT: String(n.distPort),
      RABBITMQ_CONFIG_FILE: join(n.dir, 'rabbitmq.conf'),
      RABBITMQ_CONF_ENV_FILE: join(n.dir, 'rabbitmq-env.conf'),
      RABBITMQ_ENABLED_PLUGINS_FILE: join(n.dir, 'enabled_plugins'),
      RABBITMQ_MNESIA_BASE: join(n.dir, 'mnesia'),
      RABBITMQ_LOG_BASE: join(n.dir, 'log'),
      RABBITMQ_PID_FILE: join(n.dir, 'pid'),
      // A VM or CLI that crashes writes its dump here, never into the working tree.
      ERL_CRASH_DUMP: join(n.dir, 'erl_crash.dump'),
      ERL_EPMD_ADDRESS: '127.0.0.1',
      // Erlang distribution on loopback only.
      RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS: '-kernel inet_dist_use_interface {127,0,0,1}',
      // The script then execs the VM itself: the child's pid is beam.smp's, no signal proxy.
      RUNNING_UNDER_SYSTEMD: '1',
    }
  }

  /** Start (or restart, on its data) one node; resolves when its app is running. */
  async startNode(n: ClusterNode): Promise<void> {
    const out = openSync(join(n.dir, 'log', 'stdout.log'), 'a')
    const child = spawn(join(BIN!, 'rabbitmq-server'), [], {
      env: this.env(n),
      cwd: n.dir,
      stdio: ['ignore', out, out],
      detached: true, // its own process group: a Ctrl-C of the test does not reach it first
    })
    n.child = child
    child.unref()
    const exited = new Promise<never>((_, reject) =>
      child.once('exit', (code, signal) =>
        reject(new Error(`${n.name} exited (${code ?? signal}) while starting; see ${n.dir}/log`)),
      ),
    )
    exited.catch(() => {})
    // `wait` polls for the pid file, then for the app: the node may not be reachable yet.
    await Promise.race([this.ctl(n, 'wait', '--timeout', '180', join(n.dir, 'pid')), exited])
  }

  /** The OS pid of a node's Erlang VM, as the VM itself says. */
  async vmPid(n: ClusterNode): Promise<number> {
    const { stdout } = await this.ctl(n, 'eval', 'os:getpid().')
    return Number(stdout.trim().replace(/"/g, ''))
  }

  /** SIGKILL the node's Erlang VM; resolves with the pid once it is gone. */
  async kill9(n: ClusterNode): Promise<number> {
    const pid = await this.vmPid(n)
    if (!isBeam(pid)) throw new Error(`pid ${pid} of ${n.name} is not an Erlang VM`)
    process.kill(pid, 'SIGKILL')
    await until(`${n.name}'s VM (pid ${pid}) is gone`, () => !alive(pid), 30_000, 50)
    n.child = null
    return pid
  }

  async runningNodes(via: ClusterNode): Promise<string[]> {
    const { stdout } = await this.ctl(via, 'cluster_status', '--formatter', 'json')
    return (JSON.parse(stdout) as { running_nodes: string[] }).running_nodes
  }

  /** Leader and members of a quorum queue, asked of a running node. */
  async quorumStatus(
    via: ClusterNode,
    queue: string,
  ): Promise<{ leader: string; members: string[] }> {
    const { stdout } = await this.ctl(
      via,
      'list_queues',
      'name',
      'leader',
      'members',
      '--formatter',
      'json',
    )
    const rows = JSON.parse(stdout) as { name: string; leader: string; members: string[] }[]
    const row = rows.find((r) => r.name === queue)
    if (!row) throw new Error(`no queue ${queue} on ${via.name}`)
    return { leader: row.leader, members: row.members }
  }

  node(name: string): ClusterNode {
    const n = this.nodes.find((x) => x.name === name)
    if (!n) throw new Error(`no node ${name} in the cluster`)
    return n
  }

  url(n: ClusterNode, port = n.port): string {
    return `amqp://guest:guest@127.0.0.1:${port}`
  }

  ctl(n: ClusterNode, ...args: string[]): Promise<{ stdout: string; stderr: string }> {
    return run(join(BIN!, 'rabbitmqctl'), ['-n', n.name, ...args], {
      env: this.env(n),
      cwd: n.dir,
      timeout: 240_000,
    })
  }

  /** SIGKILL every node and remove every directory: nothing outlives the test. */
  async stop(): Promise<void> {
    for (const n of this.nodes) {
      const pid = n.child?.pid
      if (pid && alive(pid)) process.kill(pid, 'SIGKILL')
    }
    RabbitCluster.cleanStale()
  }
}

function readOr(path: string, fallback: string): string {
  try {
    return readFileSync(path, 'utf8').trim()
  } catch {
    return fallback
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return !/^\S+ \(\S+\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'))
  } catch {
    return false
  }
}

function isBeam(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim().startsWith('beam')
  } catch {
    return false
  }
}
