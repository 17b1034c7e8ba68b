/**
 * Codes of the errors that retrying cannot fix: an operator must change something (create the
 * queue, fix credentials or permissions, upgrade this node). Each is in docs/errors.md.
 */
export type PermanentCode =
  | 'broker_queue_missing'
  | 'broker_access_denied'
  | 'broker_misconfigured'
  | 'database_access_denied'
  | 'database_missing'
  | 'schema_too_new'

/**
 * A start-up or runtime failure that will not go away by itself. The pipeline branches on it:
 * it shows in /readyz as that check's `ok: false`, is logged at `error` with `hint` (what to do),
 * and is retried slowly (or, when `retryable` is false, not at all) instead of with back-off.
 */
export class PermanentError extends Error {
  override name = 'PermanentError'

  constructor(
    readonly code: PermanentCode,
    message: string,
    /** What the operator should do about it. */
    readonly hint: string,
    options?: ErrorOptions & { retryable?: boolean },
  ) {
    super(message, options)
    this.retryable = options?.retryable ?? true
  }

  /** False when nothing short of restarting with other code or config can fix it. */
  readonly retryable: boolean
}
