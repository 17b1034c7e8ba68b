const tails = new Map<string, Promise<unknown>>()

/**
 * Run `fn` after every earlier call with the same key in this process has settled.
 *
 * Why: the advisory locks that serialise nodes are session locks, and embedded PGlite has one
 * session shared by every connection, so there they never block. Callers in one process
 * (the only kind embedded mode has) are serialised here as well.
 */
export function serialize<T>(key: string, fn: () => Promise<T>): Promise<T> {
  const prev = tails.get(key) ?? Promise.resolve()
  const run = prev.then(fn, fn)
  const tail = run.catch(() => {})
  tails.set(key, tail)
  void tail.then(() => {
    if (tails.get(key) === tail) tails.delete(key)
  })
  return run
}
