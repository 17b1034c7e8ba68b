/**
 * AMQP_URL names one RabbitMQ node or several nodes of one cluster, comma-separated
 * (`amqp://u:p@a:5672,amqp://u:p@b:5672`). Each entry is checked here the way amqplib will read
 * it (WHATWG `new URL`), so that a URL amqplib cannot parse is a start-up error instead of a
 * connection attempt that fails with `Invalid URL` forever.
 *
 * Returns the trimmed, non-empty entries in the order given (the order they are tried in).
 * Throws a TypeError whose message starts with `name` and never repeats a password.
 */
export function parseAmqpUrls(text: string, name = 'AMQP_URL'): string[] {
  const accepts = `${name} must be one or more comma-separated amqp:// or amqps:// URLs (the nodes of one RabbitMQ cluster)`
  if (typeof text !== 'string') throw new TypeError(accepts)
  const entries = text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
  if (entries.length === 0) throw new TypeError(accepts)
  for (const [i, entry] of entries.entries()) {
    const why = problem(entry)
    if (why) {
      const which = entries.length > 1 ? `entry ${i + 1}, ` : ''
      throw new TypeError(`${accepts}; ${which}'${withoutPassword(entry)}', ${why}`)
    }
  }
  return entries
}

function problem(entry: string): string | null {
  if (!/^amqps?:\/\//i.test(entry)) return 'is not amqp:// or amqps://'
  let url: URL
  try {
    url = new URL(entry)
  } catch {
    return 'cannot be parsed as a URL'
  }
  if (!url.hostname) return 'has no host'
  return null
}

/** `user:password@` is replaced before a URL is shown in an error or a log line. */
export function withoutPassword(entry: string): string {
  return entry.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^@/]*@/i, '$1[redacted]@')
}

/** `host:port` of a node URL, for log lines (no credentials, no vhost). */
export function nodeLabel(url: string): string {
  try {
    const u = new URL(url)
    return `${u.hostname}:${u.port || (u.protocol === 'amqps:' ? '5671' : '5672')}`
  } catch {
    return withoutPassword(url)
  }
}
