/** Items whose bodies travel to another thread in one moved buffer; the rest is cloned. */
export interface PackedBodies<T extends { body: Uint8Array }> {
  items: Array<Omit<T, 'body'> & { bodyLength: number }>
  bodies: ArrayBuffer
}

/**
 * Copies the bodies into one new ArrayBuffer, to be moved to another thread (a transfer list)
 * instead of cloned. Structured clone copies each body twice (into the message, then out of
 * it into a buffer of its own, which the receiving thread's GC must later free), and a body
 * that is a view into a larger buffer (Node's pool, a broker frame) is cloned with all of it.
 * The caller's bodies are untouched, so it can pack the same items again (a retried batch).
 */
export function packBodies<T extends { body: Uint8Array }>(items: readonly T[]): PackedBodies<T> {
  let total = 0
  for (const item of items) total += item.body.byteLength
  const bodies = new ArrayBuffer(total)
  const into = new Uint8Array(bodies)
  let offset = 0
  const meta = items.map(({ body, ...rest }) => {
    into.set(body, offset)
    offset += body.byteLength
    return { ...rest, bodyLength: body.byteLength }
  })
  return { items: meta, bodies }
}

/** The items again, each body a Buffer view into the one moved buffer (no copy). */
export function unpackBodies<T extends { body: Uint8Array }>(
  packed: PackedBodies<T>,
): Array<Omit<T, 'body'> & { body: Buffer }> {
  let offset = 0
  return packed.items.map(({ bodyLength, ...rest }) => {
    const body = Buffer.from(packed.bodies, offset, bodyLength)
    offset += bodyLength
    // `rest` is T without body, which TypeScript cannot see through the two Omits.
    return { ...(rest as unknown as Omit<T, 'body'>), body }
  })
}
