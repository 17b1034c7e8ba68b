/**
 * The registry of stable error codes: every code Sluice emits, in HTTP answers (`error`), logs,
 * `/readyz` checks, thrown errors (`err.code`) and dead letters (`reason`). Every code here is
 * documented in docs/errors.md, and test/errors.test.ts fails when one is not, when the docs
 * name a code that is not here, or when src/, journal/ or workers/ use a code that is not here.
 * Codes are part of the public interface: add, never rename.
 *
 * An entry with `status` is an HTTP answer. An entry with `kind` is not; the kind says what the
 * engine does about it (see ErrorKind).
 */

/**
 * How the engine handles a code that is not an HTTP answer:
 * - `transient`: retried by itself with back-off; nothing is lost, no operator needed.
 * - `permanent`: an operator must change something. Shown in `GET /readyz` as that check's
 *   `ok: false` with the error and since when, logged at `error`, retried every ~30 s (unless
 *   the docs say otherwise); ingest keeps answering 200 meanwhile.
 * - `dead-letter`: the reason an event was put in the `dead_letters` table.
 * - `fatal`: start-up stops with the message.
 */
export type ErrorKind = 'transient' | 'permanent' | 'dead-letter' | 'fatal'

export interface HttpErrorSpec {
  /** The HTTP status of the answer carrying this code. */
  readonly status: number
  readonly message: string
}

export interface EngineErrorSpec {
  readonly kind: ErrorKind
  readonly message: string
}

export type ErrorSpec = HttpErrorSpec | EngineErrorSpec

export const ErrorCodes = {
  // HTTP answers.
  body_too_large: { status: 413, message: 'request body is larger than SLUICE_MAX_BODY' },
  event_too_large: { status: 413, message: 'event is larger than the broker can carry' },
  invalid_event_id: { status: 400, message: 'event id is longer than 256 characters' },
  unknown_source: { status: 404, message: 'no such source in SLUICE_CONFIG' },
  not_found: { status: 404, message: 'no such route' },
  method_not_allowed: { status: 405, message: 'only POST is allowed on /webhook' },
  signature_missing: { status: 401, message: 'the signature header is missing' },
  signature_mismatch: { status: 401, message: 'the signature does not match the body' },
  timestamp_out_of_tolerance: {
    status: 401,
    message: 'the signed timestamp is too old or too far ahead',
  },
  rate_limited: { status: 429, message: 'too many requests for this source' },
  journal_full: { status: 503, message: 'journal is over its disk quota; retry later' },
  shutting_down: { status: 503, message: 'engine is shutting down; retry later' },
  journal_unavailable: { status: 503, message: 'journal commit failed; retry later' },
  invalid_request: { status: 400, message: 'the request does not validate' },
  unauthorized: { status: 401, message: 'a valid admin bearer token is required' },
  subscription_conflict: {
    status: 409,
    message: 'another subscription has this url, eventTypes and sources',
  },
  destination_refused: {
    status: 400,
    message: "the subscription's URL names an address the engine's SLUICE_OUTBOUND_ALLOW refuses",
  },
  subscription_disabled: {
    status: 409,
    message: 'the delivery belongs to a disabled subscription; enable the subscription first',
  },
  delivery_not_retryable: {
    status: 409,
    message: 'only a pending or failed delivery is retried; replay a succeeded one',
  },
  delivery_waiting: {
    status: 409,
    message: 'the delivery waits for the one before it of its ordering key; retry that one',
  },
  replay_too_large: {
    status: 400,
    message: 'the replay would make too many deliveries; narrow since/until',
  },
  internal_error: { status: 500, message: 'the admin route failed unexpectedly; see the log' },
  pipeline_unavailable: {
    status: 503,
    message: 'the database behind the pipeline is not up yet; retry later',
  },

  // Broker.
  broker_unavailable: { kind: 'transient', message: 'the broker cannot be reached' },
  delivery_gone: { kind: 'transient', message: 'the delivery can no longer be settled' },
  broker_queue_missing: { kind: 'permanent', message: 'the configured queue does not exist' },
  broker_access_denied: { kind: 'permanent', message: 'the broker refused these credentials' },
  broker_misconfigured: {
    kind: 'permanent',
    message: 'the queue exists with other settings than this node declares',
  },

  // Database.
  database_unavailable: { kind: 'transient', message: 'the database cannot be reached' },
  database_access_denied: { kind: 'permanent', message: 'the database refused these credentials' },
  database_missing: { kind: 'permanent', message: 'the database in DATABASE_URL does not exist' },
  database_schema_missing: {
    kind: 'permanent',
    message: 'a table or schema Sluice needs is missing from the search_path',
  },
  database_read_only: { kind: 'permanent', message: 'the database only accepts reads' },
  schema_too_new: {
    kind: 'permanent',
    message: 'the database was migrated by a newer Sluice; upgrade this node',
  },

  // Dead-letter reasons.
  attempts_exhausted: { kind: 'dead-letter', message: 'failed SLUICE_MAX_ATTEMPTS times' },
  invalid_event: { kind: 'dead-letter', message: 'the event cannot be stored as it is' },
  undecodable_message: { kind: 'dead-letter', message: 'the message was not written by Sluice' },

  // Start-up.
  data_dir_locked: { kind: 'fatal', message: 'another process holds SLUICE_DATA_DIR' },
  config_invalid: { kind: 'fatal', message: 'a configuration variable is invalid' },
} as const satisfies Record<string, ErrorSpec>

export type ErrorCode = keyof typeof ErrorCodes

/** Codes answered over HTTP (those with a status). */
export type HttpErrorCode = {
  [C in ErrorCode]: (typeof ErrorCodes)[C] extends HttpErrorSpec ? C : never
}[ErrorCode]

/** Codes of one kind, e.g. `ErrorCodeOf<'permanent'>`. */
export type ErrorCodeOf<K extends ErrorKind> = {
  [C in ErrorCode]: (typeof ErrorCodes)[C] extends { kind: K } ? C : never
}[ErrorCode]

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ErrorCodes, value)
}

/** The registry entry of a code, or undefined for a string that is not one. */
export function errorSpec(code: string): ErrorSpec | undefined {
  return isErrorCode(code) ? ErrorCodes[code] : undefined
}

/**
 * An error that carries a registered code. Branch on `instanceof` (of this class or a subclass)
 * or on the typed `code`, never on the message. `message` defaults to the registry's message.
 *
 *   throw new SluiceError('broker_queue_missing', `queue ${name} does not exist`, { cause: err })
 *   class BrokerUnavailableError extends codedError('broker_unavailable') {}
 */
export class SluiceError<C extends ErrorCode = ErrorCode> extends Error {
  override name = 'SluiceError'
  readonly code: C

  constructor(code: C, message?: string, options?: ErrorOptions) {
    super(message ?? ErrorCodes[code].message, options)
    this.code = code
  }
}

/**
 * The registered code an error carries, if any. Also works for errors that lost their class on
 * the way (structured clone between threads keeps own properties such as `code`, not the
 * prototype).
 */
export function errorCode(err: unknown): ErrorCode | undefined {
  const code = (err as { code?: unknown } | null | undefined)?.code
  return isErrorCode(code) ? code : undefined
}

/**
 * The base of an error class for one code, `new X(message?, { cause }?)`, instead of a copy of
 * the same constructor per code. Declare each as a class of its own,
 * `export class JournalFullError extends codedError('journal_full') {}`, so it keeps its own
 * name (err.name, stack traces) and its own instanceof.
 */
export function codedError<C extends ErrorCode>(code: C) {
  return class extends SluiceError<C> {
    constructor(message?: string, options?: ErrorOptions) {
      super(code, message, options)
      this.name = new.target.name
    }
  }
}

/** A configuration that cannot run: exit 2 naming the variable (or file) and what is allowed. */
export class ConfigError extends codedError('config_invalid') {}
