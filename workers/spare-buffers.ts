/** Buffers below this are not worth keeping: a new one costs next to nothing. */
const MIN_BYTES = 64 * 1024

/**
 * The batch buffers the store threads send back once a batch is stored, kept to pack later
 * batches into (WorkerPool.run). A new buffer per batch was a malloc and a zero-fill on the
 * pipeline thread, and on the store thread a dead buffer whose memory V8 only returns when it
 * collects the wrapper: a batch outlives the scavenges of its Postgres round trip, so the
 * wrapper is promoted and its 300-odd KB wait for a full GC, tens of MB per thread at max load.
 * New buffers are sized to the next power of two, so the batches that follow fit in them.
 */
export class SpareBuffers {
  private readonly free: ArrayBuffer[] = []

  constructor(
    /** At most this many kept: about the batches in flight at once. */
    private readonly maxCount: number,
    /** Larger ones (a batch of big bodies) are let go. */
    private readonly maxBytes = 8 * 1024 * 1024,
  ) {}

  /** A kept buffer of at least `bytes`, else a new one. */
  take(bytes: number): ArrayBuffer {
    const i = this.free.findIndex((b) => b.byteLength >= bytes)
    if (i >= 0) return this.free.splice(i, 1)[0]!
    return new ArrayBuffer(bytes < MIN_BYTES ? bytes : 2 ** Math.ceil(Math.log2(bytes)))
  }

  /**
   * A buffer sent back: kept unless too small, too large or detached; with maxCount kept, it
   * replaces the smallest when it is larger (batches grew), else it is let go.
   */
  give(buf: ArrayBuffer | undefined): void {
    if (!(buf instanceof ArrayBuffer) || buf.byteLength < MIN_BYTES) return
    if (buf.byteLength > this.maxBytes) return
    if (this.free.length < this.maxCount) return void this.free.push(buf)
    let smallest = 0
    for (let i = 1; i < this.free.length; i++) {
      if (this.free[i]!.byteLength < this.free[smallest]!.byteLength) smallest = i
    }
    if (this.free[smallest]!.byteLength < buf.byteLength) this.free[smallest] = buf
  }

  get size(): number {
    return this.free.length
  }
}
