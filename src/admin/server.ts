import type { Component } from '../component.js'
import { errorCode } from '../errors.js'
import type { Logger } from '../log.js'
import { readBody } from '../server/body.js'
import { Reply } from '../server/respond.js'
import {
  NOT_FREE,
  listenExclusive,
  uWS,
  type HttpRequest,
  type HttpResponse,
  type TemplatedApp,
} from '../server/uws.js'
import type { us_listen_socket } from '../server/uws.js'
import { onceAsync } from '../util/once.js'
import { nestedDeeperThan } from '../util/json-depth.js'
import type { BearerAuth } from './auth.js'
import type { AdminRoute, Answer, RouteInput } from './route-kit.js'
import { InvalidRequest } from './route-kit.js'

export interface AdminServerOptions {
  host: string
  port: number
  auth: BearerAuth
  routes: AdminRoute[]
  logger: Logger
}

const MAX_BODY = 1024 * 1024
// What a request's JSON may nest: subscriptions' payloads, headers and filters go into jsonb
// columns, and the embedded database answers JSON nested 30,000 levels deep with no rows and no
// error (src/util/json-depth.ts). No field of this API needs more than a handful of levels.
const MAX_DEPTH = 100

/**
 * The admin listener: its own uWebSockets.js app on its own host and port (never the webhook
 * port), so it can be bound to loopback while ingest faces the senders. Handlers only parse,
 * check the token and call the pipeline (which runs the queries in its thread).
 */
export class AdminServer implements Component {
  private readonly app: TemplatedApp
  private socket: us_listen_socket | null = null
  private bound = 0

  constructor(private readonly o: AdminServerOptions) {
    this.app = uWS.App()
    const paths = new Set(o.routes.map((r) => r.path))
    for (const route of o.routes) {
      this.app[route.method](route.path, (res, req) => this.handle(route, res, req))
    }
    for (const path of paths) {
      const allowed = o.routes
        .filter((r) => r.path === path)
        .map((r) => (r.method === 'del' ? 'DELETE' : r.method.toUpperCase()))
      this.app.any(path, (res) =>
        new Reply(res, 'admin').error('method_not_allowed', {
          message: `this route answers ${allowed.join(', ')} only`,
          headers: { allow: allowed.join(', ') },
        }),
      )
    }
    this.app.any('/*', (res) => new Reply(res, 'admin').error('not_found'))
  }

  get port(): number {
    return this.bound
  }

  start(): Promise<void> {
    return new Promise((resolve, reject) => {
      listenExclusive(this.app, this.o.host, this.o.port, (socket) => {
        if (!socket)
          return reject(new Error(`cannot listen on ${this.o.host}:${this.o.port}${NOT_FREE}`))
        this.socket = socket
        this.bound = uWS.us_socket_local_port(socket)
        resolve()
      })
    })
  }

  close = onceAsync(async () => {
    if (this.socket) uWS.us_listen_socket_close(this.socket)
    this.socket = null
    ;(this.app as TemplatedApp & { close(): void }).close()
  })

  private handle(route: AdminRoute, res: HttpResponse, req: HttpRequest): void {
    const reply = new Reply(res, 'admin')
    // uWS's req is only valid during this call: read everything now.
    const authorized = !route.auth || this.o.auth.check(req.getHeader('authorization'))
    const params = route.path
      .split('/')
      .filter((p) => p.startsWith(':'))
      .map((_, i) => safeDecode(req.getParameter(i) ?? ''))
    const input: RouteInput = { params: params as string[], query: req.getQuery() ?? '' }
    if (!authorized) {
      reply.error('unauthorized', { close: route.method === 'post' })
      return
    }
    if (params.some((p) => p === null)) {
      reply.error('invalid_request', { message: 'path: not valid percent-encoding' })
      return
    }
    if (route.method === 'get' || route.method === 'del') {
      void this.run(route, input, reply)
      return
    }
    // Digits only, as ingest reads it: Number() would take '-16' or '1e3'.
    const header = req.getHeader('content-length')
    const length = /^\d+$/.test(header) ? Number(header) : null
    readBody(res, reply, MAX_BODY, length, {
      done: (buf) => {
        let body: unknown = {}
        if (nestedDeeperThan(buf, MAX_DEPTH)) {
          reply.error('invalid_request', {
            message: `body: nested deeper than ${MAX_DEPTH} levels`,
          })
          return
        }
        try {
          if (buf.length > 0) body = JSON.parse(buf.toString('utf8'))
        } catch {
          reply.error('invalid_request', { message: 'body: must be JSON' })
          return
        }
        void this.run(route, { ...input, body }, reply)
      },
      tooLarge: () =>
        reply.error('invalid_request', { message: 'body: larger than 1 MiB', close: true }),
    })
  }

  private async run(route: AdminRoute, input: RouteInput, reply: Reply): Promise<void> {
    let answer: Answer
    try {
      answer = await route.run(input)
    } catch (err) {
      if (err instanceof InvalidRequest)
        return reply.error('invalid_request', { message: err.message })
      // A registered answer thrown on the far side of a thread keeps its code, not its class.
      const code = errorCode(err)
      if (code === 'pipeline_unavailable') return reply.error(code)
      if (code === 'replay_too_large') return reply.error(code, { message: (err as Error).message })
      this.o.logger.error({ err, route: route.path }, 'admin route failed')
      return reply.error('internal_error', { message: (err as Error).message })
    }
    if ('html' in answer) reply.send(answer.status, 'text/html; charset=utf-8', answer.html)
    else if ('empty' in answer) reply.send(answer.status, 'text/plain; charset=utf-8', '')
    else reply.json(answer.status, answer.json)
  }
}

function safeDecode(s: string): string | null {
  try {
    return decodeURIComponent(s)
  } catch {
    return null
  }
}
