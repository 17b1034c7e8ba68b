/**
 * `p`, or a rejection with `message` once `ms` passed (the timer never keeps the process alive).
 * For calls to another thread, which may be busy or gone.
 */
export function withTimeout<T>(p: Promise<T>, ms: number, message = `no answer within ${ms} ms`) {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(message)), ms)
    timer.unref()
    p.then(resolve, reject).finally(() => clearTimeout(timer))
  })
}
