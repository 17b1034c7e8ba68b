/**
 * Poll `cond` until it holds. The timeout is a safety net, not a timing assertion: its error
 * says what was awaited and, when `state` is given, what was last seen instead.
 */
export async function until(
  what: string,
  cond: () => boolean | Promise<boolean>,
  timeoutMs = 60000,
  intervalMs = 25,
  state?: () => string,
): Promise<void> {
  const end = Date.now() + timeoutMs
  while (!(await cond())) {
    if (Date.now() > end) {
      const seen = state ? ` (last seen: ${state()})` : ''
      throw new Error(`timed out after ${timeoutMs} ms waiting until ${what}${seen}`)
    }
    await new Promise((r) => setTimeout(r, intervalMs))
  }
}
