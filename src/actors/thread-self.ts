import { readlinkSync, writeFileSync } from 'node:fs'
import { setPriority } from 'node:os'

/**
 * This thread's Linux thread id (from /proc/thread-self), or null elsewhere. Worker threads
 * have no other way to learn it, and it is what setPriority and /proc/<pid>/task/ name.
 */
export function threadId(): number | null {
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop())
    return Number.isInteger(tid) && tid > 0 ? tid : null
  } catch {
    return null
  }
}

/**
 * Names this thread (shown by `top -H`, `ps -L` and /proc/<pid>/task/<tid>/comm; 15 bytes at
 * most) so an operator and the benchmark can tell the engine's threads apart. Best effort.
 */
export function nameThread(name: string): void {
  try {
    writeFileSync('/proc/thread-self/comm', name.slice(0, 15))
  } catch {
    // Not Linux, or /proc is not mounted: the thread keeps its default name.
  }
}

/**
 * Lowers this thread's CPU priority (a Linux nice value, 0-19) so that, when the cores are
 * busy, the HTTP thread wins and the journal absorbs a burst; threads this one starts inherit
 * it. Raising priority would need privileges, so only values above the current one apply.
 * Returns whether the priority was set.
 */
export function lowerThreadPriority(nice: number): boolean {
  const tid = threadId()
  if (nice <= 0 || tid === null) return false
  try {
    setPriority(tid, nice)
    return true
  } catch {
    return false
  }
}
