/**
 * Request/response over a worker-thread channel, both ways: each side can call the other's
 * handlers and gets a promise of the answer. One-way messages (`cast`) carry hints and logs.
 * The channel is a Worker on the main side and `parentPort` on the thread side.
 */

export interface Channel {
  postMessage(message: unknown, transfer?: readonly Transferable[]): void
  on(event: 'message', listener: (message: unknown) => void): unknown
}

type Transferable = ArrayBuffer

export type Handler = (payload: unknown) => unknown

interface Request {
  rpc: 'call'
  id: number
  method: string
  payload: unknown
}
interface Response {
  rpc: 'result'
  id: number
  ok: boolean
  value?: unknown
  error?: { message: string; code?: string }
}
interface Cast {
  rpc: 'cast'
  method: string
  payload: unknown
}
type Message = Request | Response | Cast

/** An error thrown by the other side's handler, with its message and code. */
export class RemoteError extends Error {
  constructor(
    message: string,
    readonly code?: string,
  ) {
    super(message)
    this.name = 'RemoteError'
  }
}

/** Thrown to callers whose call was pending when the other side went away. */
export class ChannelClosedError extends Error {
  constructor(message = 'the thread on the other side of the channel is gone') {
    super(message)
    this.name = 'ChannelClosedError'
  }
}

/** Values a handler returns may ask for their ArrayBuffers to be moved, not copied. */
export class WithTransfer<T> {
  constructor(
    readonly value: T,
    readonly transfer: ArrayBuffer[],
  ) {}
}

export class Rpc {
  private nextId = 1
  private readonly pending = new Map<
    number,
    { resolve: (v: unknown) => void; reject: (e: Error) => void }
  >()
  private closed: Error | null = null

  constructor(
    private readonly channel: Channel,
    private readonly handlers: Record<string, Handler>,
  ) {
    channel.on('message', (m) => this.receive(m as Message))
  }

  call<T>(method: string, payload?: unknown): Promise<T> {
    if (this.closed) return Promise.reject(this.closed)
    const id = this.nextId++
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject })
      this.channel.postMessage({ rpc: 'call', id, method, payload } satisfies Request)
    })
  }

  cast(method: string, payload?: unknown): void {
    if (!this.closed) this.channel.postMessage({ rpc: 'cast', method, payload } satisfies Cast)
  }

  /** The other side is gone: every pending call fails, later calls fail at once. */
  fail(error: Error = new ChannelClosedError()): void {
    this.closed = error
    for (const { reject } of this.pending.values()) reject(error)
    this.pending.clear()
  }

  private receive(m: Message): void {
    if (m?.rpc === 'result') {
      const waiter = this.pending.get(m.id)
      if (!waiter) return
      this.pending.delete(m.id)
      if (m.ok) waiter.resolve(m.value)
      else waiter.reject(new RemoteError(m.error?.message ?? 'remote call failed', m.error?.code))
      return
    }
    if (m?.rpc === 'cast') {
      void this.run(m.method, m.payload).catch(() => {})
      return
    }
    if (m?.rpc === 'call') {
      this.run(m.method, m.payload).then(
        (value) => {
          if (value instanceof WithTransfer) {
            const r: Response = { rpc: 'result', id: m.id, ok: true, value: value.value }
            this.channel.postMessage(r, value.transfer)
          } else {
            this.channel.postMessage({
              rpc: 'result',
              id: m.id,
              ok: true,
              value,
            } satisfies Response)
          }
        },
        (err: unknown) => {
          const e = err as { message?: string; code?: unknown }
          const error = {
            message: e?.message ?? String(err),
            ...(typeof e?.code === 'string' ? { code: e.code } : {}),
          }
          this.channel.postMessage({ rpc: 'result', id: m.id, ok: false, error } satisfies Response)
        },
      )
    }
  }

  private async run(method: string, payload: unknown): Promise<unknown> {
    const handler = this.handlers[method]
    if (!handler) throw new Error(`no handler for ${method}`)
    return handler(payload)
  }
}
