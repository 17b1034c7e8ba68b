import { ErrorCodes, type HttpErrorCode } from '../errors.js'
import { httpResponses, ingestSeconds } from '../metrics.js'
import type { RefusalLog } from './refusal-log.js'
import type { HttpResponse } from './uws.js'

const STATUS_LINES: Record<number, string> = {
  200: '200 OK',
  201: '201 Created',
  202: '202 Accepted',
  204: '204 No Content',
  400: '400 Bad Request',
  401: '401 Unauthorized',
  403: '403 Forbidden',
  404: '404 Not Found',
  405: '405 Method Not Allowed',
  409: '409 Conflict',
  413: '413 Payload Too Large',
  429: '429 Too Many Requests',
  500: '500 Internal Server Error',
  503: '503 Service Unavailable',
}

/**
 * Per-request guard for uWS's rules: a response may be written once, and never after
 * onAborted fired (the native object is gone). Every write goes through `send`, which counts
 * the response (sluice_http_responses_total) and, on the webhook routes, its duration from the
 * request's start (sluice_ingest_duration_seconds); `error` also logs the refusal.
 */
export class Reply {
  aborted = false
  done = false
  /** The source named by the request, for the refusal log (any string a client sent). */
  source: string | undefined = undefined
  /** The `source` metric label: set only for a configured source, so its values stay bounded. */
  sourceLabel = ''
  /** The client address, for the refusal log. */
  client = ''
  private readonly startedAt = performance.now()
  /** The error code of the answer, '' for a success. */
  private code = ''

  constructor(
    private readonly res: HttpResponse,
    private readonly route: string,
    private readonly refusals: RefusalLog | null = null,
  ) {
    res.onAborted(() => {
      this.aborted = true
    })
  }

  /** Still possible to answer? */
  get open(): boolean {
    return !this.aborted && !this.done
  }

  send(
    status: number,
    contentType: string,
    body: string | Buffer,
    headers: Record<string, string> = {},
    closeConnection = false,
  ): void {
    if (!this.open) return
    this.done = true
    httpResponses.inc({
      route: this.route,
      status: String(status),
      source: this.sourceLabel,
      code: this.code,
    })
    if (this.route === 'webhook') {
      const seconds = (performance.now() - this.startedAt) / 1000
      ingestSeconds.observe({ source: this.sourceLabel }, seconds)
    }
    // cork: one syscall for status, headers and body; required outside the handler's own tick.
    this.res.cork(() => {
      this.res.writeStatus(STATUS_LINES[status] ?? `${status} Status`)
      this.res.writeHeader('content-type', contentType)
      for (const [k, v] of Object.entries(headers)) this.res.writeHeader(k, v)
      this.res.end(body, closeConnection)
    })
  }

  json(status: number, value: unknown, headers?: Record<string, string>, close = false): void {
    this.send(status, 'application/json', JSON.stringify(value), headers, close)
  }

  /**
   * Error body per the contract. `close` drops the connection: used when answering before the
   * request body was read, so its unread bytes are never parsed as a next request.
   */
  error(
    code: HttpErrorCode,
    opts: {
      status?: number
      message?: string
      retryAfterSeconds?: number
      close?: boolean
      headers?: Record<string, string>
    } = {},
  ): void {
    const known = ErrorCodes[code]
    const status = opts.status ?? known.status
    const headers: Record<string, string> = {}
    // The contract promises Retry-After on every 429 and 503.
    const retryAfter = opts.retryAfterSeconds ?? (status === 429 || status === 503 ? 1 : undefined)
    if (retryAfter !== undefined)
      headers['retry-after'] = String(Math.max(0, Math.ceil(retryAfter)))
    if (status === 405) headers['allow'] = 'POST'
    if (code === 'unauthorized') headers['www-authenticate'] = 'Bearer'
    Object.assign(headers, opts.headers)
    const message = opts.message ?? known.message
    if (this.open) {
      this.code = code
      const { route, source, client } = this
      this.refusals?.refused({ code, status, route, source, client, message })
    }
    this.json(status, { status: 'error', error: code, message }, headers, opts.close ?? false)
  }
}
