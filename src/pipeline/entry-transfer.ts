import type { JournalEntry } from '../../journal/types.js'
import { WithTransfer } from '../actors/rpc.js'
import { packBodies, unpackBodies, type PackedBodies } from '../util/packed-bodies.js'

/** Journal entries on their way to the pipeline thread: metadata cloned, bodies in one buffer. */
export type PackedEntries = PackedBodies<JournalEntry>

/** The entries with their bodies in one ArrayBuffer that is moved to the other thread. */
export function packEntries(entries: readonly JournalEntry[]): WithTransfer<PackedEntries> {
  const packed = packBodies(entries)
  return new WithTransfer(packed, [packed.bodies])
}

/** The entries again, each body a Buffer view into the one transferred buffer (no copy). */
export function unpackEntries(packed: PackedEntries): JournalEntry[] {
  return unpackBodies(packed)
}
