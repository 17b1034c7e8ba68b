export { SqliteJournal, type SqliteJournalOptions } from './sqlite-journal.js'
export { JournalClosedError, JournalFullError, JournalUnavailableError } from './errors.js'
export { JOURNAL_FILE, type SyncMode } from './schema.js'
export type * from './types.js'
