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

/** Logs a `warn` naming the end of life when this Node's line is past it. */
export function warnNodeEndOfLife(logger: Logger, version = process.version, today = new Date()) {
  const eol = nodeEndOfLife(version, today)
  if (!eol) return
  logger.warn(
    { node: version, endOfLife: eol.endOfLife, supported: 'Node 22 or 24' },
    `Node ${eol.major} reached end of life on ${eol.endOfLife}: it gets no security fixes; ` +
      'run Node 22 or 24 (docs/node-versions.md)',
  )
}
