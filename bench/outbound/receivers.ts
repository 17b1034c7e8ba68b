import { createServer, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { performance } from 'node:perf_hooks'

/** How a receiver answers every POST it gets. */
export type Behaviour = 'healthy' | 'hanging' | 'slow' | 'failing' | 'flaky'

/**
 * Status and delay per behaviour; hanging accepts and reads the request but never answers.
 * flaky answers 503 to the first two requests of each webhook-id and 200 to the third (one 2xx
 * in three per message, issue 17), after 5 ms like a healthy one.
 */
const ANSWERS: Record<Behaviour, { status: number; afterMs: number } | null> = {
  healthy: { status: 200, afterMs: 5 },
  slow: { status: 200, afterMs: 2000 },
  failing: { status: 500, afterMs: 0 },
  flaky: { status: 200, afterMs: 5 },
  hanging: null,
}

export interface Receiver {
  readonly behaviour: Behaviour
  /** Position among the receivers of its behaviour (0-based). */
  readonly index: number
  /** `http://127.0.0.1:<port><path>`; the path names the behaviour unless given. */
  url(path?: string): string
  /** Requests whose body was read, since start. */
  requests: number
}

/** One delivery seen by a receiver: the `seq` the bench put into the event's body. */
export type ArrivalListener = (r: Receiver, path: string, seq: number, atMs: number) => void
/** A receiver has answered a delivery (res.end() called): what the engine waits for. */
export type AnswerListener = (
  r: Receiver,
  path: string,
  seq: number,
  status: number,
  atMs: number,
) => void

const SEQ = /"seq":(\d+)/

/**
 * The receivers of the outbound section, in the bench runner's process: each an HTTP server of
 * its own on 127.0.0.1. Every request body read is reported to `onArrival` with the time it
 * was read (performance.now(), the same clock as the runner's acknowledgements), so latency
 * needs no clock shared across processes.
 */
export class ReceiverFarm {
  readonly receivers: Receiver[] = []
  onArrival: ArrivalListener = () => {}
  onAnswered: AnswerListener = () => {}
  private readonly closers: (() => Promise<void>)[] = []

  async add(behaviour: Behaviour, count: number): Promise<Receiver[]> {
    const added: Receiver[] = []
    for (let i = 0; i < count; i++) added.push(await this.start(behaviour, i))
    return added
  }

  of(behaviour: Behaviour): Receiver[] {
    return this.receivers.filter((r) => r.behaviour === behaviour)
  }

  requestsOf(behaviour: Behaviour): number {
    return this.of(behaviour).reduce((n, r) => n + r.requests, 0)
  }

  /** Closes every server and ends every connection still open (hanging ones included). */
  async close(): Promise<void> {
    await Promise.all(this.closers.splice(0).map((c) => c()))
  }

  private async start(behaviour: Behaviour, index: number): Promise<Receiver> {
    const answer = ANSWERS[behaviour]
    const sockets = new Set<Socket>()
    const held = new Set<ServerResponse>()
    // flaky: requests so far per webhook-id (the same on every attempt of a delivery).
    const tries = new Map<string, number>()
    const server = createServer((req, res) => {
      const chunks: Buffer[] = []
      req.on('data', (c: Buffer) => chunks.push(c))
      req.on('end', () => {
        const at = performance.now()
        receiver.requests++
        const path = req.url ?? ''
        const m = SEQ.exec(Buffer.concat(chunks).subarray(0, 200).toString('latin1'))
        const seq = m ? Number(m[1]) : null
        if (seq !== null) this.onArrival(receiver, path, seq, at)
        if (!answer) return void held.add(res)
        let status = answer.status
        if (behaviour === 'flaky') {
          const id = String(req.headers['webhook-id'])
          const n = (tries.get(id) ?? 0) + 1
          tries.set(id, n)
          if (n % 3 !== 0) status = 503
        }
        const reply = () => {
          res.statusCode = status
          res.end()
          if (seq !== null) this.onAnswered(receiver, path, seq, status, performance.now())
        }
        if (answer.afterMs > 0) setTimeout(reply, answer.afterMs)
        else reply()
      })
    })
    server.on('connection', (s: Socket) => {
      sockets.add(s)
      s.on('error', () => {})
      s.on('close', () => sockets.delete(s))
    })
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    const { port } = server.address() as AddressInfo
    const receiver: Receiver = {
      behaviour,
      index,
      url: (path = `/${behaviour}`) => `http://127.0.0.1:${port}${path}`,
      requests: 0,
    }
    this.receivers.push(receiver)
    this.closers.push(
      () =>
        new Promise<void>((r) => {
          for (const s of sockets) s.destroy()
          held.clear()
          server.close(() => r())
        }),
    )
    return receiver
  }
}
