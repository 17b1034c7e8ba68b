import { existsSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { QueueStore } from '../brokers/local/store.js'
import { ConfigError, type Config } from '../config.js'

export const QUEUE_FILE = 'queue.db'

/** Messages left in the local queue of a data directory (0 when it has no queue.db). */
export function localQueueBacklog(dataDir: string): number {
  if (!existsSync(join(dataDir, QUEUE_FILE))) return 0
  const store = new QueueStore(dataDir, 'normal')
  try {
    return store.count()
  } finally {
    store.close()
  }
}

/**
 * Refuse to start with RabbitMQ or SQS while the data directory's local queue still holds
 * messages: the local broker forwarded them out of the journal (acknowledged, not yet stored),
 * and no consumer would ever read queue.db again, so they would be lost without a word.
 * Throws ConfigError naming the file, the count and the command that moves them.
 */
export function refuseStrandedLocalQueue(config: Config): void {
  if (config.SLUICE_BROKER === 'local') return
  const dir = resolve(config.SLUICE_DATA_DIR)
  const left = localQueueBacklog(dir)
  if (left === 0) return
  throw new ConfigError(
    `SLUICE_BROKER is ${config.SLUICE_BROKER}, but ${join(dir, QUEUE_FILE)} still holds ${left} ` +
      'message(s) of the local queue (from when SLUICE_BROKER was local): acknowledged events ' +
      'not yet stored, which no consumer would read again. Move them to the new broker first ' +
      'with `sluice queue drain` in this same environment, then start again (or start with ' +
      'SLUICE_BROKER=local until they are stored).',
  )
}
