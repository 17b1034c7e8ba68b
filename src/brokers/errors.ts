import { SluiceError } from '../errors.js'

/**
 * Errors a caller of a broker acts on. BrokerUnavailableError means "nothing in this call was
 * confirmed, try again later" (the forwarder keeps the entries pending and backs off);
 * EventTooLargeError means the event can never be published to this broker (the HTTP server
 * refuses such events up front with 413 event_too_large, see features.maxEventBytes).
 * Their codes are in the registry (src/errors.ts, docs/errors.md).
 */
export class BrokerUnavailableError extends SluiceError<'broker_unavailable'> {
  override name = 'BrokerUnavailableError'
  constructor(message?: string, options?: ErrorOptions) {
    super('broker_unavailable', message, options)
  }
}

export class EventTooLargeError extends SluiceError<'event_too_large'> {
  override name = 'EventTooLargeError'
  constructor(message?: string, options?: ErrorOptions) {
    super('event_too_large', message, options)
  }
}

/** The delivery can no longer be settled by this holder (channel gone, lease lost, closed). */
export class DeliveryGoneError extends SluiceError<'delivery_gone'> {
  override name = 'DeliveryGoneError'
  constructor(message?: string, options?: ErrorOptions) {
    super('delivery_gone', message, options)
  }
}
