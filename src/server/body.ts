import type { HttpResponse } from './uws.js'
import type { Reply } from './respond.js'
import { BodySlab } from './body-slab.js'

/** One per thread: bodies are read on the thread that runs uWS. */
const slab = new BodySlab()

export interface BodyHandlers {
  /** The whole body, copied out of uWS's buffers. */
  done(body: Buffer): void
  /** The limit was crossed; called at most once, and no more chunks are kept afterwards. */
  tooLarge(): void
}

/**
 * Stream the request body with a byte limit. uWS neuters each chunk's ArrayBuffer when the
 * callback returns, so every chunk is copied. With a Content-Length the buffer is allocated
 * once, carved from a slab (body-slab.ts); chunked bodies are collected and joined. Crossing
 * the limit stops buffering at once.
 */
export function readBody(
  res: HttpResponse,
  reply: Reply,
  limit: number,
  contentLength: number | null,
  handlers: BodyHandlers,
): void {
  const fixed = contentLength !== null ? slab.alloc(contentLength) : null
  const chunks: Buffer[] = []
  let received = 0
  let over = false
  res.onData((chunk, isLast) => {
    if (over || !reply.open) return
    const n = chunk.byteLength
    if (received + n > limit || (fixed && received + n > fixed.length)) {
      over = true
      chunks.length = 0
      handlers.tooLarge()
      return
    }
    if (fixed) fixed.set(new Uint8Array(chunk), received)
    else if (n > 0) chunks.push(Buffer.from(new Uint8Array(chunk)))
    received += n
    if (!isLast) return
    if (fixed) handlers.done(received === fixed.length ? fixed : fixed.subarray(0, received))
    else handlers.done(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, received))
  })
}
