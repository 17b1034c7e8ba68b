import { ProxyError } from './proxy-error.js'
import { SsrfRefusedError } from './ssrf.js'

/**
 * Why a delivery attempt failed, as recorded with the attempt and counted by metrics: a small
 * closed set, so it can be a label. The status code itself is recorded separately.
 */
export type AttemptErrorClass =
  | 'timeout'
  | 'ssrf_refused'
  | 'proxy'
  | 'dns'
  | 'connection_refused'
  | 'connection_reset'
  | 'unreachable'
  | 'tls'
  | 'protocol'
  | 'invalid_url'
  | 'invalid_request'
  | 'redirect'
  /** 410: the receiver asked to be unsubscribed; its subscription is disabled. */
  | 'gone'
  | 'status_4xx'
  | 'status_5xx'
  | 'status_other'
  | 'network'

const DNS = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_FAIL', 'EAI_NODATA', 'ENODATA', 'ESERVFAIL'])
const RESET = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED'])
const UNREACHABLE = new Set(['EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN', 'ENETDOWN'])
// Node's TLS and OpenSSL codes: ERR_TLS_CERT_ALTNAME_INVALID, ERR_SSL_WRONG_VERSION_NUMBER,
// DEPTH_ZERO_SELF_SIGNED_CERT, CERT_HAS_EXPIRED, UNABLE_TO_VERIFY_LEAF_SIGNATURE, ...
const TLS = /^(ERR_TLS_|ERR_SSL_|CERT_|UNABLE_TO_|DEPTH_ZERO_|SELF_SIGNED_|HOSTNAME_MISMATCH)/
// An answer that is not HTTP: llhttp's HPE_* codes and undici's own parser limits.
const PROTOCOL = /^(HPE_|UND_ERR_HEADERS_OVERFLOW|UND_ERR_RES_CONTENT_LENGTH_MISMATCH|UND_ERR_INFO)/

/** The class of an error thrown by undici or the connector (its `cause` chain searched). */
export function errorClass(err: unknown): AttemptErrorClass {
  for (let e = err, depth = 0; e instanceof Error && depth < 4; depth++) {
    if (e instanceof SsrfRefusedError) return 'ssrf_refused'
    // Before the codes: a refused connection to the proxy is the proxy's, not the receiver's.
    if (e instanceof ProxyError) return 'proxy'
    // undici's parser error carries its HPE_* code only sometimes; its name always.
    if (e.name === 'HTTPParserError') return 'protocol'
    const code = (e as { code?: unknown }).code
    if (typeof code === 'string') {
      if (code === 'ECONNREFUSED') return 'connection_refused'
      if (code === 'ETIMEDOUT' || code === 'UND_ERR_CONNECT_TIMEOUT') return 'timeout'
      if (DNS.has(code)) return 'dns'
      if (RESET.has(code)) return 'connection_reset'
      if (UNREACHABLE.has(code)) return 'unreachable'
      if (TLS.test(code)) return 'tls'
      if (PROTOCOL.test(code)) return 'protocol'
      if (code === 'ERR_INVALID_URL') return 'invalid_url'
      // A header value undici will not send (CR/LF in a subscription header, ...).
      if (code === 'UND_ERR_INVALID_ARG' || code === 'ERR_INVALID_CHAR') return 'invalid_request'
    }
    e = e.cause
  }
  return 'network'
}
