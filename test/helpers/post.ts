import { Agent } from 'node:http'
import { post } from '../../src/testing/post.js'

// One POST is the test kit's (sluice/testing).
export { post, type PostResult } from '../../src/testing/post.js'

/**
 * Post `count` events with unique Idempotency-Keys from `concurrency` clients, retrying an event
 * (same key) on connection errors and non-200 answers the way a webhook sender does, until
 * `deadline`. Returns the keys that got a 200.
 */
export async function postMany(options: {
  url: () => string
  count: number
  concurrency: number
  idPrefix: string
  body?: (i: number) => Buffer
  deadline?: number
  onProgress?: (acked: number) => void
  /** Each id as it is acknowledged. */
  onAck?: (id: string) => void
  /** When it returns true, no new event is started (those in flight finish): an open-ended stream. */
  stop?: () => boolean
  /** Each client waits this long after each acknowledged event: a stream that leaves CPU to the rest. */
  paceMs?: number
}): Promise<Set<string>> {
  const acked = new Set<string>()
  const agent = new Agent({ keepAlive: true, maxSockets: options.concurrency })
  const deadline = options.deadline ?? Date.now() + 120000
  let next = 0
  const client = async () => {
    while (next < options.count && !options.stop?.()) {
      const i = next++
      const id = `${options.idPrefix}-${i}`
      const body =
        options.body?.(i) ?? Buffer.from(JSON.stringify({ type: 'test.event', n: i, id }))
      for (;;) {
        if (Date.now() > deadline) throw new Error(`gave up posting ${id}: deadline passed`)
        try {
          const res = await post(options.url(), body, { 'idempotency-key': id }, agent)
          if (res.status === 200) {
            acked.add(id)
            options.onAck?.(id)
            options.onProgress?.(acked.size)
            if (options.paceMs) await new Promise((r) => setTimeout(r, options.paceMs))
            break
          }
        } catch {
          /* engine down or restarting: retry like a sender */
        }
        await new Promise((r) => setTimeout(r, 50))
      }
    }
  }
  try {
    await Promise.all(Array.from({ length: options.concurrency }, client))
  } finally {
    agent.destroy()
  }
  return acked
}
