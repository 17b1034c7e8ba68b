import type { Component } from '../component.js'
import type { Journal } from '../../journal/types.js'
import { createLogger, type Logger } from '../log.js'
import type { IngestSource } from '../sources/types.js'
import { ClientAddresses } from './client-address.js'
import { handleIngest, type IngestContext } from './ingest.js'
import { handleHealth, handleMetrics, handleReady, type ReadinessFn } from './probes.js'
import { RefusalLog, type RefusalLogOptions } from './refusal-log.js'
import { Reply } from './respond.js'
import type { EventTracer } from '../tracing/types.js'
import {
  NOT_FREE,
  listenExclusive,
  logUwsBuild,
  uWS,
  type TemplatedApp,
  type us_listen_socket,
} from './uws.js'

export interface HttpServerOptions {
  /** Where committed events go; the 200 waits for its commit. */
  journal: Journal
  /** Sources by name, from buildSources(); `default` serves POST /webhook. */
  sources: Map<string, IngestSource>
  /** Bind address. @defaultValue '0.0.0.0' */
  host?: string
  /** Port; 0 picks a free one (see `port` after start). @defaultValue 8080 */
  port?: number
  /** Largest accepted body (SLUICE_MAX_BODY). @defaultValue 1048576 */
  maxBodyBytes?: number
  /** Largest event (body and metadata, as eventBytes() counts it) the broker can carry; larger gets 413 event_too_large. @defaultValue Infinity */
  maxEventBytes?: number
  /** Extra readiness checks (broker, database) shown by GET /readyz; informative, they do not make it 503. @defaultValue none */
  readiness?: ReadinessFn
  /** Retry-After on 503 answers, in seconds. @defaultValue 5 */
  retryAfterSeconds?: number
  /** TCP peers whose X-Forwarded-For names the client (SLUICE_TRUSTED_PROXIES). @defaultValue [] */
  trustedProxies?: readonly string[]
  /** Sampling of the refused-request log (src/server/refusal-log.ts). @defaultValue its defaults */
  refusalLog?: RefusalLogOptions
  /** @defaultValue a new pino logger */
  logger?: Logger
}

type Defaulted = Omit<Required<HttpServerOptions>, 'journal' | 'sources' | 'logger'>

const defaults: Readonly<Defaulted> = Object.freeze({
  host: '0.0.0.0',
  port: 8080,
  maxBodyBytes: 1048576,
  maxEventBytes: Infinity,
  readiness: async () => ({}),
  retryAfterSeconds: 5,
  trustedProxies: [],
  refusalLog: {},
})

/** The HTTP front: uWebSockets.js routes for ingest, probes and metrics. */
export class HttpServer implements Component {
  private readonly opts: Required<HttpServerOptions>
  private readonly app: TemplatedApp
  private readonly inflight = new Set<Promise<unknown>>()
  private listenSocket: us_listen_socket | null = null
  private accepting = true
  private boundPort = 0
  private closing: Promise<void> | null = null
  private readonly refusals: RefusalLog
  private readonly clients: ClientAddresses
  /** What every ingest request reads; traceWith() sets its tracer. */
  private ingest: IngestContext | null = null

  constructor(options: HttpServerOptions) {
    if (!options?.journal) throw new TypeError('options.journal is required')
    if (!(options.sources instanceof Map)) throw new TypeError('options.sources must be a Map')
    const opts: Required<HttpServerOptions> = {
      ...defaults,
      ...options,
      logger: options.logger ?? createLogger(),
    }
    if (!Number.isInteger(opts.port) || opts.port < 0 || opts.port > 65535)
      throw new TypeError('options.port must be an integer from 0 to 65535')
    if (!Number.isInteger(opts.maxBodyBytes) || opts.maxBodyBytes < 1)
      throw new TypeError('options.maxBodyBytes must be a positive integer')
    if (!(opts.maxEventBytes > 0))
      throw new TypeError('options.maxEventBytes must be a positive number')
    if (!(opts.retryAfterSeconds >= 0))
      throw new TypeError('options.retryAfterSeconds must be >= 0')
    this.opts = opts
    this.refusals = new RefusalLog(opts.logger, opts.refusalLog)
    this.clients = new ClientAddresses(opts.trustedProxies)
    this.app = this.routes()
  }

  /** Receive spans from now on (tracing on; set before start(), the tracer loads asynchronously). */
  traceWith(tracer: EventTracer | null): void {
    this.ingest!.tracer = tracer
  }

  /** The bound port (useful with port 0), valid after start(). */
  get port(): number {
    return this.boundPort
  }

  start(): Promise<void> {
    logUwsBuild(this.opts.logger)
    return new Promise((resolve, reject) => {
      listenExclusive(this.app, this.opts.host, this.opts.port, (socket) => {
        if (!socket) {
          reject(new Error(`cannot listen on ${this.opts.host}:${this.opts.port}${NOT_FREE}`))
          return
        }
        this.listenSocket = socket
        this.boundPort = uWS.us_socket_local_port(socket)
        resolve()
      })
    })
  }

  /** False once stopAccepting() was called (shutdown). */
  get acceptingEvents(): boolean {
    return this.accepting
  }

  /** New events get 503 shutting_down from now on; probes and metrics keep answering. */
  stopAccepting(): void {
    this.accepting = false
  }

  /** Resolves when every event already handed to the journal has been answered. */
  async drain(): Promise<void> {
    while (this.inflight.size > 0) await Promise.allSettled([...this.inflight])
  }

  /** Stop accepting, answer events in flight, then close the listen socket and all connections. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.stopAccepting()
      if (this.listenSocket) uWS.us_listen_socket_close(this.listenSocket)
      this.listenSocket = null
      await this.drain()
      // Drops keep-alive and half-sent requests; none of them has been promised a 200.
      // App.close exists in this uWS build but is missing from its type declarations.
      ;(this.app as TemplatedApp & { close(): void }).close()
      this.refusals.endInterval()
    })()
    return this.closing
  }

  private routes(): TemplatedApp {
    const o = this.opts
    const ctx: IngestContext = {
      journal: o.journal,
      sources: o.sources,
      maxBodyBytes: o.maxBodyBytes,
      maxEventBytes: o.maxEventBytes,
      retryAfterSeconds: o.retryAfterSeconds,
      logger: o.logger,
      refusals: this.refusals,
      clients: this.clients,
      accepting: () => this.accepting,
      inflight: this.inflight,
      tracer: null,
    }
    this.ingest = ctx
    type Handler = Parameters<TemplatedApp['any']>[1]
    // Read while the handler runs: uWS's req is gone once it returns.
    const refusedReply = (route: string, ...[res, req]: Parameters<Handler>) => {
      const reply = new Reply(res, route, this.refusals)
      const peer = Buffer.from(res.getRemoteAddressAsText()).toString()
      reply.client = this.clients.resolve(peer, req.getHeader('x-forwarded-for') || undefined)
      return reply
    }
    const notAllowed =
      (named: boolean): Handler =>
      (res, req) => {
        const reply = refusedReply('webhook', res, req)
        reply.source = named ? req.getParameter(0) : 'default'
        reply.error('method_not_allowed', { close: true })
      }
    return uWS
      .App()
      .post('/webhook', (res, req) => handleIngest(ctx, res, req, false))
      .post('/webhook/:source', (res, req) => handleIngest(ctx, res, req, true))
      .any('/webhook', notAllowed(false))
      .any('/webhook/:source', notAllowed(true))
      .get('/healthz', (res) => handleHealth(res))
      .get('/readyz', (res) => handleReady(res, o.journal, o.readiness, () => this.accepting))
      .get('/metrics', (res) => handleMetrics(res))
      .any('/*', (res, req) => refusedReply('other', res, req).error('not_found', { close: true }))
  }
}
