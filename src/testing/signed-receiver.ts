import { createServer, type IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'
import { webhookId } from '../dispatcher/request.js'
import { generateSecret } from '../outbound/sign.js'
import { standardWebhooksVerifier } from '../sources/verifiers/standard-webhooks.js'
import { until } from './until.js'

/** One delivery whose signature verified. */
export interface ReceivedDelivery {
  /** `webhook-id`: the same for every attempt of one event (see webhookIdOf). */
  readonly webhookId: string
  /** Lower-cased header names, as sent. */
  readonly headers: Readonly<Record<string, string>>
  /** The exact bytes received. */
  readonly body: Buffer
}

/** A request the receiver refused with 401, and why. */
export interface RejectedRequest {
  readonly headers: Readonly<Record<string, string>>
  readonly reason: string
}

export interface SignedReceiverOptions {
  /** The subscription's `whsec_` secret. @defaultValue a new one (give it to the subscription) */
  secret?: string
  /** The status answered to a verified delivery (a 5xx makes the engine retry). @defaultValue 200 */
  status?: (delivery: ReceivedDelivery) => number
}

/** The `webhook-id` Sluice sends for an event: a receiver's key for deduplication. */
export function webhookIdOf(eventId: string, source = 'default'): string {
  return webhookId(source, eventId)
}

function headersOf(req: IncomingMessage): Record<string, string> {
  const headers: Record<string, string> = {}
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value
  }
  return headers
}

/**
 * An HTTP receiver on 127.0.0.1 (a free port) for a subscription: it checks each request's
 * Standard Webhooks signature with the engine's own verifier (the one its sources use), records
 * a verified one and answers `status`, and refuses any other with 401, recording why.
 */
export async function signedReceiver(options: SignedReceiverOptions = {}) {
  const secret = options.secret ?? generateSecret()
  const verify = standardWebhooksVerifier([secret], { now: Date.now })
  const deliveries: ReceivedDelivery[] = []
  const rejected: RejectedRequest[] = []
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const headers = headersOf(req)
      const body = Buffer.concat(chunks)
      const result = verify({ headers, body })
      if (!result.ok) {
        rejected.push({ headers, reason: result.message })
        res.writeHead(401).end()
        return
      }
      const delivery = { webhookId: headers['webhook-id']!, headers, body }
      deliveries.push(delivery)
      res.writeHead(options.status?.(delivery) ?? 200).end()
    })
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', resolve)
  })
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`
  /** The verified deliveries of one event (several when the engine retried or replayed it). */
  const received = (eventId: string, source = 'default') => {
    const id = webhookIdOf(eventId, source)
    return deliveries.filter((d) => d.webhookId === id)
  }
  return {
    /** Where the subscription points. */
    url,
    secret,
    /** Every verified delivery, in the order received. */
    deliveries,
    /** Every refused request: a signature that did not verify, or none. */
    rejected,
    received,
    /** Resolves with the event's first verified delivery. */
    async waitFor(eventId: string, opts: { source?: string; timeoutMs?: number } = {}) {
      const source = opts.source ?? 'default'
      await until(
        `a signed delivery of event ${source}/${eventId} arrives at ${url}`,
        () => received(eventId, source).length > 0,
        opts.timeoutMs ?? 60000,
        25,
        () =>
          `${deliveries.length} verified deliveries, none of this event; ${rejected.length} refused`,
      )
      return received(eventId, source)[0]!
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

export type SignedReceiver = Awaited<ReturnType<typeof signedReceiver>>
