import { codedError } from '../src/errors.js'

/**
 * Journal errors the HTTP server turns into distinct answers (503 journal_full vs 503
 * journal_unavailable vs 503 shutting_down). Each carries its code from the registry
 * (src/errors.ts).
 */
export class JournalFullError extends codedError('journal_full') {}
export class JournalUnavailableError extends codedError('journal_unavailable') {}
export class JournalClosedError extends codedError('shutting_down') {}
