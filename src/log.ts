import { pino, type Logger } from 'pino'

export type { Logger }

/** One JSON logger per process; components take a child with their name. */
export function createLogger(level: string = process.env.SLUICE_LOG_LEVEL ?? 'info'): Logger {
  return pino({ level, base: { pid: process.pid }, redact: ['*.secret', '*.secrets'] })
}

/**
 * The logger of a worker thread: each line goes to `post` (to the main thread, whose logger
 * writes it with relayLog), so one process has one log stream with one configuration.
 */
export function threadLogger(level: string, post: (line: string) => void): Logger {
  return pino({ level, base: null, timestamp: false }, { write: (line: string) => post(line) })
}

/** Writes a line from threadLogger through this thread's logger, keeping its level and fields. */
export function relayLog(logger: Logger, line: string): void {
  let record: Record<string, unknown>
  try {
    record = JSON.parse(line) as Record<string, unknown>
  } catch {
    logger.warn({ line }, 'unparsable log line from a worker thread')
    return
  }
  const { level, msg, ...fields } = record
  const label = typeof level === 'number' ? logger.levels.labels[level] : undefined
  const write = label && label in logger ? logger[label as 'info'] : logger.info
  write.call(logger, fields, typeof msg === 'string' ? msg : '')
}
