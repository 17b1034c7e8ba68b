import type { ClaimedDelivery } from '../db/deliveries.js'
import type { StorableEvent } from '../event.js'
import { packBodies, type PackedBodies } from '../util/packed-bodies.js'
import { storableTraceparent } from '../util/traceparent.js'

/**
 * First attempts leased by the store statement (issue 20). The dispatcher offers the store
 * leases it could start now, per subscription; the workers' store statement makes up to that
 * many of the new deliveries leased to the dispatcher (workers/store-sql.ts), and the pipeline
 * hands those over with their events' bodies. Such a delivery is written once before its result
 * instead of twice (made, then leased by a claim), and nothing reads its body back.
 *
 * Nothing here is needed for correctness: a handed delivery that never reaches a running
 * dispatcher (the thread restarted, the hand-over lost, the store's answer lost) keeps a lease
 * that expires like an attempt's whose node died, and is claimed then.
 */

/** Leases the dispatcher can start now: a snapshot, taken by one store batch at most. */
export interface LeaseOffer {
  /** The dispatcher's lease owner token. */
  readonly owner: string
  readonly leaseMs: number
  readonly subscriptions: readonly string[]
  /** How many each of `subscriptions` may start, by this node's lanes. */
  readonly rooms: readonly number[]
  /** Date.now() after which the offer is not used (the dispatcher may be gone). */
  readonly validUntil: number
}

/** A delivery the store statement leased: its row id, subscription and event (index in the batch). */
export interface StoreLeased {
  readonly id: string
  readonly subscriptionId: string
  readonly event: number
}

/** What a handed delivery's request needs of its event; the body travels packed. */
export interface HandedEvent {
  readonly source: string
  readonly id: string
  readonly contentType: string
  readonly traceparent: string | null
  readonly body: Uint8Array
}

/** Leased deliveries on their way to the dispatcher, with their events. */
export interface HandedDeliveries {
  readonly owner: string
  /** Date.now() when the batch took the offer: every lease began after it. */
  readonly takenAt: number
  readonly deliveries: readonly StoreLeased[]
  /** `StoreLeased.event` indexes these. */
  readonly events: PackedBodies<HandedEvent>
}

/** What a stored batch means for the dispatcher (workers/pool.ts tells it after each one). */
export interface StoredNotice {
  /** Deliveries the batch leased to the dispatcher's offer, to be handed over; null: none. */
  readonly handed: HandedDeliveries | null
  /** Deliveries made that no one leased; null when no offer went with the batch (unknown). */
  readonly unleased: number | null
  /** Some event was inserted now (not found stored already): it may have made deliveries. */
  readonly inserted: boolean
}

/**
 * Hand over what a batch leased, and wake the dispatcher when it may have made deliveries no
 * offer covered (a claim's work: ordered ones, subscriptions without room, other nodes').
 */
export function tellDispatcher(
  notice: StoredNotice,
  dispatcher: { hand(handed: HandedDeliveries): void; wake(): void } | null,
): void {
  if (!dispatcher) return
  if (notice.handed) dispatcher.hand(notice.handed)
  if (notice.inserted && notice.unleased !== 0) dispatcher.wake()
}

/**
 * How long after it was made a batch may take an offer. Its rooms go stale (the hand-over gives
 * back what no longer fits), and its dispatcher may be gone (a late first attempt, at the
 * lease's end); a restarted thread's offer is withdrawn at once (src/dispatcher/thread.ts).
 */
export const OFFER_VALID_MS = 5000

/** What an offer needs of a lane (src/dispatcher/lanes.ts). */
interface OfferingLane {
  readonly flow: { readonly isPaused: boolean }
  room(nowMs: number): number
}

/**
 * The offer of a dispatcher with `free` attempts left under maxInFlight: each lane's room, all
 * of them within `free`; none for paused lanes, whose probes only a claim picks. Null: no room.
 */
export function offerOf(
  of: Pick<LeaseOffer, 'owner' | 'leaseMs'>,
  lanes: Iterable<readonly [string, OfferingLane]>,
  free: number,
  nowMs: number,
): LeaseOffer | null {
  const subscriptions: string[] = []
  const rooms: number[] = []
  for (const [id, lane] of lanes) {
    if (free <= 0) break
    const room = lane.flow.isPaused ? 0 : Math.min(lane.room(nowMs), free)
    if (room <= 0) continue
    subscriptions.push(id)
    rooms.push(room)
    free -= room
  }
  if (subscriptions.length === 0) return null
  return { ...of, subscriptions, rooms, validUntil: nowMs + OFFER_VALID_MS }
}

/**
 * The hand-over of what a store batch of `events` leased: each leased delivery's event once,
 * the bodies packed into one buffer (one copy into the dispatcher's thread, not one per body).
 */
export function handOver(
  owner: string,
  takenAt: number,
  leased: readonly StoreLeased[],
  events: readonly StorableEvent[],
): HandedDeliveries {
  const slot = new Map<number, number>()
  const picked: HandedEvent[] = []
  const deliveries = leased.map((d) => {
    let at = slot.get(d.event)
    if (at === undefined) {
      const e = events[d.event]!
      at = picked.length
      slot.set(d.event, at)
      picked.push({
        source: e.source,
        id: e.id,
        contentType: e.contentType,
        traceparent: storableTraceparent(e.traceparent),
        body: e.body,
      })
    }
    return { ...d, event: at }
  })
  return { owner, takenAt, deliveries, events: packBodies(picked) }
}

/** The handed deliveries as the claim would have returned them (their first attempt). */
export function handedAsClaimed(
  handed: HandedDeliveries,
  bodies: readonly Buffer[],
): ClaimedDelivery[] {
  return handed.deliveries.map((d) => {
    const e = handed.events.items[d.event]!
    return {
      id: d.id,
      subscriptionId: d.subscriptionId,
      source: e.source,
      eventId: e.id,
      attempts: 0,
      body: bodies[d.event]!,
      contentType: e.contentType,
      traceparent: e.traceparent,
    }
  })
}
