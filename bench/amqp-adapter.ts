/**
 * Publish throughput of the RabbitMQ adapter against the bare amqplib confirm channel
 * (bench/amqp-baseline.ts), same 5 KB messages, same broker, one after the other; and the
 * adapter across confirm windows.
 *
 *   node --import=./node_modules/@tapjs/typescript/dist/esm/import.mjs bench/amqp-adapter.ts \
 *     [messages] [batch] [windows, e.g. 100,256,500,1000]
 */
import { randomBytes } from 'node:crypto'
import { performance } from 'node:perf_hooks'
import { pathToFileURL } from 'node:url'
import amqp from 'amqplib'
import type { WebhookEvent } from '../src/event.js'
import { RabbitBroker } from '../src/brokers/rabbitmq/broker.js'
import { deleteTopology, queueNames } from '../src/brokers/rabbitmq/topology.js'
import { benchBareAmqp, type PublishRate } from './amqp-baseline.js'

export interface AdapterBenchOptions {
  /** @defaultValue 'amqp://guest:guest@127.0.0.1:5672' */
  url?: string
  queue: string
  /** @defaultValue 20000 */
  messages?: number
  /** Events per publish() call (the forwarder's batch). @defaultValue 500 */
  batch?: number
  /** @defaultValue 5120 */
  bodyBytes?: number
  /** @defaultValue 256 */
  window?: number
  /** publish() calls in flight at once (a forwarder pipelining its batches). @defaultValue 1 */
  concurrency?: number
}

export async function benchRabbitAdapter(options: AdapterBenchOptions): Promise<PublishRate> {
  const o = {
    url: 'amqp://guest:guest@127.0.0.1:5672',
    messages: 20_000,
    batch: 500,
    bodyBytes: 5120,
    window: 256,
    concurrency: 1,
    ...options,
  }
  const broker = new RabbitBroker({ url: o.url, queue: o.queue, confirmWindow: o.window })
  const body = randomBytes(o.bodyBytes)
  const events: WebhookEvent[] = Array.from({ length: o.messages }, (_, i) => ({
    id: `bench-${i}`,
    source: 'bench',
    receivedAt: Date.now(),
    contentType: 'application/json',
    headers: { 'content-type': 'application/json', 'user-agent': 'bench' },
    body,
    verifiedBy: null,
  }))
  try {
    await broker.start()
    const start = performance.now()
    let next = 0
    const lane = async () => {
      for (let i = next; i < events.length; i = next) {
        next += o.batch
        const results = await broker.publish(events.slice(i, i + o.batch))
        if (!results.every(Boolean)) throw new Error('a message was nacked')
      }
    }
    await Promise.all(Array.from({ length: o.concurrency }, lane))
    const seconds = (performance.now() - start) / 1000
    return { messages: o.messages, seconds, perSecond: Math.round(o.messages / seconds) }
  } finally {
    await broker.close()
    await removeTopology(o.url, o.queue)
  }
}

async function removeTopology(url: string, queue: string): Promise<void> {
  const conn = await amqp.connect(url)
  const ch = await conn.createChannel()
  await deleteTopology(ch, queueNames(queue))
  await conn.close()
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const messages = Number(process.argv[2] ?? 20_000)
  const batch = Number(process.argv[3] ?? 500)
  const windows = (process.argv[4] ?? '100,256,500,1000').split(',').map(Number)
  const tag = `${process.pid}-${Date.now().toString(36)}`
  const rows: Array<Record<string, string | number>> = []
  let run = 0
  const bare = (window: number) =>
    benchBareAmqp({ queue: `sluice.bench.bare-${tag}-${++run}`, messages, window })
  const adapter = (window: number, concurrency: number) =>
    benchRabbitAdapter({
      queue: `sluice.bench.adapter-${tag}-${++run}`,
      messages,
      batch,
      window,
      concurrency,
    })
  for (const window of windows) {
    // Two rounds in alternating order, best of each: the machine is shared and warms up.
    const best = { bare: 0, one: 0, two: 0 }
    for (const round of [0, 1]) {
      const steps = [
        async () => (best.bare = Math.max(best.bare, (await bare(window)).perSecond)),
        async () => (best.one = Math.max(best.one, (await adapter(window, 1)).perSecond)),
        async () => (best.two = Math.max(best.two, (await adapter(window, 2)).perSecond)),
      ]
      for (const step of round ? steps.reverse() : steps) await step()
    }
    rows.push({
      window,
      'bare msg/s': best.bare,
      'adapter msg/s (1 batch in flight)': best.one,
      ratio1: +(best.one / best.bare).toFixed(2),
      'adapter msg/s (2 batches in flight)': best.two,
      ratio2: +(best.two / best.bare).toFixed(2),
    })
  }
  console.table(rows)
}
