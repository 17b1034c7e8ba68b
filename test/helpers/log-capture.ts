import { createLogger, type Logger } from '../../src/log.js'

/** One JSON log line as written. */
export type LogLine = Record<string, unknown> & { level: number; msg: string }

/** The engine's own logger (createLogger), writing into an array instead of stdout. */
export function captureLogger(level = 'info'): { logger: Logger; lines: LogLine[] } {
  const lines: LogLine[] = []
  const logger = createLogger(level, {
    write: (line: string) => void lines.push(JSON.parse(line) as LogLine),
  })
  return { logger, lines }
}
