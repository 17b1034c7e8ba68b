/**
 * Errors a caller of a broker acts on. BrokerUnavailableError means "nothing in this call was
 * confirmed, try again later" (the forwarder keeps the entries pending and backs off);
 * EventTooLargeError means the event can never be published to this broker (the HTTP server
 * refuses such events up front with 413 event_too_large, see features.maxEventBytes).
 */
export class BrokerUnavailableError extends Error {
  override name = 'BrokerUnavailableError'
  readonly code = 'broker_unavailable'
}

export class EventTooLargeError extends Error {
  override name = 'EventTooLargeError'
  readonly code = 'event_too_large'
}

/** The delivery can no longer be settled by this holder (channel gone, lease lost, closed). */
export class DeliveryGoneError extends Error {
  override name = 'DeliveryGoneError'
  readonly code = 'delivery_gone'
}
