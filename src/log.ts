import { pino, type DestinationStream, type Logger } from 'pino'
import { processFields } from './version.js'

export type { Logger }

/**
 * One JSON logger per process; components take a child with their name. Every line carries an
 * ISO 8601 `time`, `hostname`, `pid` and Sluice's `version`, lines relayed from worker threads
 * included (relayLog writes them through this logger). `destination` is for tests.
 */
export function createLogger(
  level: string = process.env.SLUICE_LOG_LEVEL ?? 'info',
  destination?: DestinationStream,
): Logger {
  const options = {
    level,
    base: processFields(),
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: ['*.secret', '*.secrets'],
  }
  return destination ? pino(options, destination) : pino(options)
}

/**
 * The logger of a worker thread: each line goes to `post` (to the main thread, whose logger
 * writes it with relayLog), so one process has one log stream with one configuration.
 */
export function threadLogger(level: string, post: (line: string) => void): Logger {
  return pino({ level, base: null, timestamp: false }, { write: (line: string) => post(line) })
}

/**
 * Writes a line from threadLogger through this thread's logger, keeping its level and fields;
 * this logger adds its own time and base fields (hostname, pid, version), so relayed lines look
 * like every other line (the thread's lines carry neither, so nothing is doubled).
 */
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
