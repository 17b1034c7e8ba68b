import { SluiceError, type ErrorCodeOf } from './errors.js'

/**
 * Codes of the errors that retrying cannot fix: an operator must change something (create the
 * queue, fix credentials or permissions, upgrade this node). They are the registry's codes of
 * kind `permanent` (src/errors.ts); each is in docs/errors.md.
 */
export type PermanentCode = ErrorCodeOf<'permanent'>

/**
 * A start-up or runtime failure that will not go away by itself. The pipeline branches on it:
 * it shows in /readyz as that check's `ok: false`, is logged at `error` with `hint` (what to do),
 * and is retried slowly (or, when `retryable` is false, not at all) instead of with back-off.
 */
export class PermanentError extends SluiceError<PermanentCode> {
  override name = 'PermanentError'

  constructor(
    code: PermanentCode,
    message: string,
    /** What the operator should do about it. */
    readonly hint: string,
    options?: ErrorOptions & { retryable?: boolean },
  ) {
    super(code, message, options)
    this.retryable = options?.retryable ?? true
  }

  /** False when nothing short of restarting with other code or config can fix it. */
  readonly retryable: boolean
}
