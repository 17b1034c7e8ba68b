import type { JournalEntry } from '../../journal/types.js'
import { WithTransfer } from '../actors/rpc.js'

/** Journal entries on their way to the pipeline thread: metadata cloned, bodies in one buffer. */
export interface PackedEntries {
  entries: Array<Omit<JournalEntry, 'body'> & { bodyLength: number }>
  bodies: ArrayBuffer
}

/**
 * Copies the bodies into one ArrayBuffer that is moved to the other thread instead of cloned:
 * a body is often a view into a larger buffer (Node's pool), which structured clone would
 * copy whole, once per entry.
 */
export function packEntries(entries: readonly JournalEntry[]): WithTransfer<PackedEntries> {
  let total = 0
  for (const e of entries) total += e.body.byteLength
  const bodies = new ArrayBuffer(total)
  const into = new Uint8Array(bodies)
  let offset = 0
  const meta = entries.map(({ body, ...rest }) => {
    into.set(body, offset)
    offset += body.byteLength
    return { ...rest, bodyLength: body.byteLength }
  })
  return new WithTransfer({ entries: meta, bodies }, [bodies])
}

/** The entries again, each body a Buffer view into the one transferred buffer (no copy). */
export function unpackEntries(packed: PackedEntries): JournalEntry[] {
  let offset = 0
  return packed.entries.map(({ bodyLength, ...rest }) => {
    const body = Buffer.from(packed.bodies, offset, bodyLength)
    offset += bodyLength
    return { ...rest, body }
  })
}
