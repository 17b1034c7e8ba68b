/** Poll `cond` until it holds; the timeout is a safety net, not a timing assertion. */
export async function until(
  what: string,
  cond: () => boolean | Promise<boolean>,
  timeoutMs = 60000,
  intervalMs = 25,
): Promise<void> {
  const end = Date.now() + timeoutMs
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting until ${what}`)
    await new Promise((r) => setTimeout(r, intervalMs))
  }
}
