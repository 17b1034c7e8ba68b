import { SqliteJournal } from '../../journal/index.js'

/**
 * The ids of the pending entries in the journal of `dataDir` (up to `limit`), for tests that
 * check what an engine child left there. It is opened and closed again, so no process holds it.
 */
export async function pendingIds(dataDir: string, limit: number): Promise<string[]> {
  const journal = new SqliteJournal({ dataDir })
  await journal.start()
  try {
    return journal.readPending(0, limit).map((e) => e.id)
  } finally {
    await journal.close()
  }
}
