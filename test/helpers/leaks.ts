import type { Test } from 'tap'

/** Resource kinds a test must not leave behind: sockets, servers and timers. */
const WATCHED = new Set(['TCPSocketWrap', 'TCPServerWrap', 'Timeout'])

function tally(): Map<string, number> {
  const counts = new Map<string, number>()
  for (const kind of process.getActiveResourcesInfo()) {
    if (WATCHED.has(kind)) counts.set(kind, (counts.get(kind) ?? 0) + 1)
  }
  return counts
}

function excess(baseline: Map<string, number>): string[] {
  const out: string[] = []
  for (const [kind, n] of tally()) {
    const extra = n - (baseline.get(kind) ?? 0)
    if (extra > 0) out.push(`${extra} ${kind}`)
  }
  return out
}

// Taken when this module is first imported, i.e. before any test of the file ran.
const baseline = tally()

/**
 * Call last in a test file: adds a final subtest that fails when the file's tests left more open
 * sockets, servers or timers than there were before they ran (after every teardown ran).
 * Closing is often asynchronous, so it waits up to `graceMs` for them to go. Worker threads are
 * not visible to Node's resource list; components that own them are closed in teardowns.
 *
 * `closeFirst` closes what the whole file shares (its database, its receivers) before counting.
 * A root `t.teardown` would run only after this check, which would count them as leaks, and a
 * cleanup written as a subtest of its own is a test point that cannot fail for a defect.
 */
export function failOnLeaks(
  t: Test,
  options: { graceMs?: number; closeFirst?: () => unknown } = {},
): void {
  const { graceMs = 3000, closeFirst } = options
  void t.test('leaves no sockets, servers or timers behind', async (t) => {
    await closeFirst?.()
    const end = Date.now() + graceMs
    let left = excess(baseline)
    while (left.length > 0 && Date.now() < end) {
      await new Promise((r) => setTimeout(r, 50))
      left = excess(baseline)
    }
    t.same(left, [], `open at the end: ${left.join(', ') || 'nothing'}`)
  })
}
