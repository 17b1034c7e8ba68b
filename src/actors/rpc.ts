/**
 * Request/response over a worker-thread channel, both ways, typed by two interfaces: each side
 * serves an object (`local`) and calls the other side's through `remote`, a Proxy that turns
 * `remote.metrics()` or `remote.admin.getEvent(id)` into a message naming the property path.
 * Neither side lists method names: the caller's names come from the interface, the server
 * looks them up on its object (own or prototype methods). `cast` is the one-way form, for
 * hints and log lines. The channel is a Worker on the main side and `parentPort` on the other.
 */
import { pathProxy, servedMethod, type Casts, type Remote } from './rpc-types.js'

export type { Casts, Remote } from './rpc-types.js'

export interface Channel {
  postMessage(message: unknown, transfer?: readonly Transferable[]): void
  on(event: 'message', listener: (message: unknown) => void): unknown
}

type Transferable = ArrayBuffer

interface Request {
  rpc: 'call'
  id: number
  path: string[]
  args: unknown[]
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
  path: string[]
  args: unknown[]
}
type Message = Request | Response | Cast

/** An error thrown by the other side's method, with its message and code. */
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

/** Values a method returns may ask for their ArrayBuffers to be moved, not copied. */
export class WithTransfer<T> {
  constructor(
    readonly value: T,
    readonly transfer: ArrayBuffer[],
  ) {}
}

/** One end of the channel: serves `local`, calls the other end's `RemoteApi`. */
export class Rpc<RemoteApi extends object> {
  private nextId = 1
  private readonly pending = new Map<
    number,
    { resolve: (v: unknown) => void; reject: (e: Error) => void }
  >()
  private closed: Error | null = null
  /** The other side's methods: each call returns a promise of its answer. */
  readonly remote: Remote<RemoteApi> = pathProxy((path, args) => this.call(path, args))
  /** The other side's methods, one-way: no answer, errors stay on the other side. */
  readonly cast: Casts<RemoteApi> = pathProxy((path, args) => this.send(path, args))

  constructor(
    private readonly channel: Channel,
    private readonly local: object,
  ) {
    channel.on('message', (m) => this.receive(m as Message))
  }

  /** The other side is gone: every pending call fails, later calls fail at once. */
  fail(error: Error = new ChannelClosedError()): void {
    this.closed = error
    for (const { reject } of this.pending.values()) reject(error)
    this.pending.clear()
  }

  private call(path: string[], args: unknown[]): Promise<unknown> {
    if (this.closed) return Promise.reject(this.closed)
    const id = this.nextId++
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject })
      this.channel.postMessage({ rpc: 'call', id, path, args } satisfies Request)
    })
  }

  private send(path: string[], args: unknown[]): void {
    if (!this.closed) this.channel.postMessage({ rpc: 'cast', path, args } satisfies Cast)
  }

  private receive(m: Message): void {
    if (m?.rpc === 'result') {
      const waiter = this.pending.get(m.id)
      if (!waiter) return
      this.pending.delete(m.id)
      if (m.ok) waiter.resolve(m.value)
      else waiter.reject(new RemoteError(m.error?.message ?? 'remote call failed', m.error?.code))
    } else if (m?.rpc === 'cast') {
      void this.run(m.path, m.args).catch(() => {})
    } else if (m?.rpc === 'call') {
      this.run(m.path, m.args).then(
        (value) => this.answer(m.id, value),
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

  private answer(id: number, value: unknown): void {
    if (value instanceof WithTransfer) {
      const r: Response = { rpc: 'result', id, ok: true, value: value.value }
      this.channel.postMessage(r, value.transfer)
    } else {
      this.channel.postMessage({ rpc: 'result', id, ok: true, value } satisfies Response)
    }
  }

  private async run(path: string[], args: unknown[]): Promise<unknown> {
    const { owner, method } = servedMethod(this.local, path)
    return method.apply(owner, args)
  }
}
