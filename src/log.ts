import { pino, type Logger } from 'pino'

export type { Logger }

/** One JSON logger per process; components take a child with their name. */
export function createLogger(level: string = process.env.SLUICE_LOG_LEVEL ?? 'info'): Logger {
  return pino({ level, base: { pid: process.pid }, redact: ['*.secret', '*.secrets'] })
}
