/**
 * A read/write lock within one process. Shared holders run together; an exclusive holder runs
 * alone, once the shared holders in flight are done. Requests are served in order, so shared
 * requests made after an exclusive one wait for it: a stream of them cannot starve it.
 */
export class RwLock {
  private readers = 0
  private writer = false
  private readonly waiting: { exclusive: boolean; go: () => void }[] = []

  shared<T>(fn: () => Promise<T>): Promise<T> {
    return this.hold(false, fn)
  }

  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    return this.hold(true, fn)
  }

  private async hold<T>(exclusive: boolean, fn: () => Promise<T>): Promise<T> {
    if (this.waiting.length === 0 && this.free(exclusive)) this.take(exclusive)
    // Taken for us by release() before it lets us go.
    else await new Promise<void>((go) => this.waiting.push({ exclusive, go }))
    try {
      return await fn()
    } finally {
      this.release(exclusive)
    }
  }

  private free(exclusive: boolean): boolean {
    return !this.writer && (!exclusive || this.readers === 0)
  }

  private take(exclusive: boolean): void {
    if (exclusive) this.writer = true
    else this.readers++
  }

  private release(exclusive: boolean): void {
    if (exclusive) this.writer = false
    else this.readers--
    for (let next = this.waiting[0]; next && this.free(next.exclusive); next = this.waiting[0]) {
      this.waiting.shift()
      this.take(next.exclusive)
      next.go()
    }
  }
}
