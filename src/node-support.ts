import type { Logger } from './log.js'

/**
 * Node release lines `engines` accepts and the day each one's upstream support ends
 * (https://github.com/nodejs/release#release-schedule). A line past its end still runs, but the
 * engine says so at start: it gets no security fixes any more (docs/node-versions.md).
 */
export const NODE_END_OF_LIFE: Readonly<Record<number, string>> = Object.freeze({
  20: '2026-04-30',
  22: '2027-04-30',
  24: '2028-04-30',
})

/** The start-up warning for a Node line past its end of life on `today`, or null. */
export function nodeEndOfLife(
  version: string,
  today: Date = new Date(),
): { major: number; endOfLife: string } | null {
  const major = Number(/^v?(\d+)\./.exec(version)?.[1])
  const endOfLife = NODE_END_OF_LIFE[major]
  if (!endOfLife || today.toISOString().slice(0, 10) <= endOfLife) return null
  return { major, endOfLife }
}

/** The lines of the table still supported on `today`, e.g. "Node 22 or 24". */
export function supportedLines(today: Date = new Date()): string {
  const day = today.toISOString().slice(0, 10)
  const lines = Object.entries(NODE_END_OF_LIFE)
    .filter(([, end]) => day <= end)
    .map(([major]) => Number(major))
    .sort((a, b) => a - b)
  if (lines.length === 0) return 'a Node line newer than those in docs/node-versions.md'
  const last = lines.pop()!
  return `Node ${lines.length > 0 ? `${lines.join(', ')} or ` : ''}${last}`
}

/** Logs a `warn` naming the end of life when this Node's line is past it. */
export function warnNodeEndOfLife(logger: Logger, version = process.version, today = new Date()) {
  const eol = nodeEndOfLife(version, today)
  if (!eol) return
  const supported = supportedLines(today)
  logger.warn(
    { node: version, endOfLife: eol.endOfLife, supported },
    `Node ${eol.major} reached end of life on ${eol.endOfLife}: it gets no security fixes; ` +
      `run ${supported} (docs/node-versions.md)`,
  )
}
