/**
 * Journal errors the HTTP server turns into distinct answers (503 journal_full vs 503
 * journal_unavailable vs 503 shutting_down). Each carries the stable code from src/errors.ts.
 */
export class JournalFullError extends Error {
  override name = 'JournalFullError'
  readonly code = 'journal_full'
}

export class JournalUnavailableError extends Error {
  override name = 'JournalUnavailableError'
  readonly code = 'journal_unavailable'
}

export class JournalClosedError extends Error {
  override name = 'JournalClosedError'
  readonly code = 'shutting_down'
}
