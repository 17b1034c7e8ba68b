/**
 * Request bodies carved out of shared 512 KiB ArrayBuffers instead of one allocation each.
 * A 5 KB body is past Node's Buffer pool (4 KiB), so Buffer.allocUnsafe made an ArrayBuffer,
 * a malloc and an external-memory charge per request, and those charges are what starts the
 * HTTP thread's full GCs at a few thousand events a second. Carving them cut the engine's CPU
 * per stored event by about 5 % (bench/README.md, "Bodies from slabs").
 *
 * A slab is never reused: it is garbage once no body in it is referenced, so a body's bytes
 * cannot change under it. The price is that a slab stays while any one of its bodies does
 * (the journal's window holds bodies in arrival order, so slabs are freed in order too).
 * Bodies from here are views: anything sending one to another thread must pack it
 * (util/packed-bodies.ts) rather than clone it, as for any WebhookEvent body.
 */
export class BodySlab {
  private slab: ArrayBuffer | null = null
  private used = 0

  constructor(
    private readonly slabBytes = 512 * 1024,
    /** Larger bodies get a buffer of their own: a few would use up a slab. */
    private readonly maxCarved = 64 * 1024,
  ) {}

  /** An uninitialised Buffer of `n` bytes, its own memory, that the caller fills. */
  alloc(n: number): Buffer {
    // Anything but a size that fits goes where a bad size throws, for this request alone: a
    // negative one carved here would move `used` back and break every later carve.
    if (!Number.isSafeInteger(n) || n < 0 || n > this.maxCarved) return Buffer.allocUnsafe(n)
    if (this.slab === null || this.used + n > this.slabBytes) {
      this.slab = new ArrayBuffer(this.slabBytes)
      this.used = 0
    }
    const body = Buffer.from(this.slab, this.used, n)
    // 8-byte aligned, so a body's view never shares a word with the next one's.
    this.used += (n + 7) & ~7
    return body
  }
}
