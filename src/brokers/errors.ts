import { codedError } from '../errors.js'

/**
 * Errors a caller of a broker acts on. BrokerUnavailableError means "nothing in this call was
 * confirmed, try again later" (the forwarder keeps the entries pending and backs off);
 * EventTooLargeError means the event can never be published to this broker (the HTTP server
 * refuses such events up front with 413 event_too_large, see features.maxEventBytes).
 * Their codes are in the registry (src/errors.ts, docs/errors.md).
 */
export class BrokerUnavailableError extends codedError('broker_unavailable') {}
export class EventTooLargeError extends codedError('event_too_large') {}
/** The delivery can no longer be settled by this holder (channel gone, lease lost, closed). */
export class DeliveryGoneError extends codedError('delivery_gone') {}
