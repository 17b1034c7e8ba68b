import type pg from 'pg'
import type { Broker, LegacyDeadLetterSource } from '../brokers/index.js'
import { writeDeadLetters } from '../db/dead-letters.js'
import type { Logger } from '../log.js'

/**
 * Sluice 0.1 kept dead letters in the broker; move whatever is left there into Postgres once at
 * start, before consuming. A failure is logged and left for the next start: those letters stay
 * where they were, and nothing else waits on them.
 */
export async function importLegacyDeadLetters(
  broker: Broker & LegacyDeadLetterSource,
  pool: pg.Pool,
  logger: Logger,
): Promise<void> {
  try {
    const moved = await broker.drainLegacyDeadLetters((letters) =>
      writeDeadLetters(
        pool,
        letters.map((l) => ({
          event: l.event,
          reason: l.malformed ? 'undecodable_message' : 'attempts_exhausted',
          attempts: l.attempts,
          error: l.error,
        })),
      ),
    )
    if (moved > 0) {
      logger.info({ moved, broker: broker.name }, 'moved dead letters of Sluice 0.1 into Postgres')
    }
  } catch (err) {
    logger.warn(
      { err },
      'could not move the broker-side dead letters of Sluice 0.1; next start retries',
    )
  }
}
