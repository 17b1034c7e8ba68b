import { SluiceError } from '../src/errors.js'

/**
 * Journal errors the HTTP server turns into distinct answers (503 journal_full vs 503
 * journal_unavailable vs 503 shutting_down). Each carries its code from the registry
 * (src/errors.ts).
 */
export class JournalFullError extends SluiceError<'journal_full'> {
  override name = 'JournalFullError'
  constructor(message?: string, options?: ErrorOptions) {
    super('journal_full', message, options)
  }
}

export class JournalUnavailableError extends SluiceError<'journal_unavailable'> {
  override name = 'JournalUnavailableError'
  constructor(message?: string, options?: ErrorOptions) {
    super('journal_unavailable', message, options)
  }
}

export class JournalClosedError extends SluiceError<'shutting_down'> {
  override name = 'JournalClosedError'
  constructor(message?: string, options?: ErrorOptions) {
    super('shutting_down', message, options)
  }
}
