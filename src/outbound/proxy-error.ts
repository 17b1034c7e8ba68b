/**
 * The forward proxy did not carry an attempt: it could not be reached, refused a CONNECT, or
 * asked for credentials (407). Its own error class (`proxy`), so an operator looking at failed
 * attempts sees the proxy and not the receiver; the underlying error is its `cause`.
 */
export class ProxyError extends Error {
  override readonly name = 'ProxyError'
}

/** `the proxy http://host:port answered 407 Proxy Authentication Required to <what>`. */
export function proxyAnswered(origin: string, status: number, text: string, what: string) {
  const reason = text === '' ? '' : ` ${text}`
  const hint = status === 407 ? ' (check the credentials in SLUICE_OUTBOUND_PROXY)' : ''
  return new ProxyError(`the proxy ${origin} answered ${status}${reason} to ${what}${hint}`)
}

/** A connection to the proxy itself failed. */
export function proxyUnreachable(origin: string, err: Error): ProxyError {
  return new ProxyError(`cannot reach the proxy ${origin}: ${err.message}`, { cause: err })
}
