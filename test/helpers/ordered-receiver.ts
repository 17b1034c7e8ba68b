import type { ServerResponse } from 'node:http'
import { receiver } from './dispatch.js'

/** A seeded generator, so the random failures are the same on every run. */
export function seeded(seed: number): () => number {
  let s = seed
  return () => (s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31
}

export interface OrderedBody {
  customer?: string
  seq: number
}

/**
 * A receiver that fails at random and checks the ordering rule as requests come: for each
 * customer, no event arrives before the one before it was answered 2xx, and never two at once.
 */
export async function orderedReceiver(failing: (b: OrderedBody) => boolean) {
  const random = seeded(7)
  const succeeded = new Map<string, number>()
  const inFlight = new Map<string, number>()
  const violations: string[] = []
  const delivered: OrderedBody[] = []
  const rx = await receiver((r, res: ServerResponse) => {
    const b = JSON.parse(r.body.toString()) as OrderedBody
    const key = b.customer ?? null
    if (key !== null) {
      // A replay starts the key again from 0: only a jump ahead is out of order.
      const before = succeeded.get(key) ?? -1
      if (b.seq > before + 1)
        violations.push(`${key}: ${b.seq} arrived before ${before + 1} succeeded`)
      if ((inFlight.get(key) ?? 0) > 0)
        violations.push(`${key}: ${b.seq} while another was in flight`)
      inFlight.set(key, (inFlight.get(key) ?? 0) + 1)
    }
    const fail = failing(b) || random() < 0.3
    setTimeout(() => {
      if (key !== null) inFlight.set(key, inFlight.get(key)! - 1)
      if (!fail) {
        delivered.push(b)
        if (key !== null) succeeded.set(key, Math.max(succeeded.get(key) ?? -1, b.seq))
      }
      res.statusCode = fail ? 503 : 200
      res.end()
    }, 2)
  })
  return { rx, violations, delivered }
}
