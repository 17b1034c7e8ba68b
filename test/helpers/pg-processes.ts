import { readdirSync, readFileSync } from 'node:fs'
import { until } from './wait.js'

// Processes of a PostgreSQL server a test started, read from /proc (Linux).

/** Stops the postmaster (so it forks no new backend), then SIGKILLs it and every child. */
export async function killCluster(pid: number): Promise<void> {
  if (!alive(pid)) return
  try {
    process.kill(pid, 'SIGSTOP')
  } catch {
    return
  }
  // Backends are session leaders of their own (setsid), so the postmaster's process group does
  // not hold them: find them by parent while the postmaster cannot fork any more.
  const all = [pid, ...childrenOf(pid)]
  for (const p of all) {
    try {
      process.kill(p, 'SIGKILL')
    } catch {
      /* already gone */
    }
  }
  // Orphaned backends attached to the shared memory would make the restart refuse to start.
  await until('the killed postgres processes are gone', () => all.every((p) => !alive(p)), 60_000)
}

function childrenOf(parent: number): number[] {
  const out: number[] = []
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue
    const stat = readStat(Number(name))
    if (stat?.ppid === parent) out.push(Number(name))
  }
  return out
}

/** Alive unless gone or a zombie (a zombie holds no shared memory and no port). */
export function alive(pid: number): boolean {
  const stat = readStat(pid)
  return stat !== null && stat.state !== 'Z'
}

function readStat(pid: number): { state: string; ppid: number } | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // The command name is in parentheses and may hold spaces: the fields follow the last ')'.
    const [state, ppid] = text.slice(text.lastIndexOf(')') + 2).split(' ')
    return { state: state ?? '', ppid: Number(ppid) }
  } catch {
    return null
  }
}

/** A postgres process (the pid file of a stale cluster may name a pid reused since). */
export function isPostgres(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'postgres'
  } catch {
    return false
  }
}
