import { randomUUID } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { SqliteJournal } from '../../journal/index.js'
import { RabbitBroker, type Broker } from '../../src/brokers/index.js'
import { Forwarder } from '../../src/forwarder/index.js'
import { createLogger, type Logger } from '../../src/log.js'
import { AMQP_URL, deleteRabbitTopology, sleep } from '../stages/services.js'

export interface ForwarderRate {
  events: number
  seconds: number
  perSecond: number
}

/** A broker for one drain (not started yet) and how to remove what it created afterwards. */
export interface BrokerUnderTest {
  broker: Broker
  /** Runs after the broker is closed (delete the queue). */
  cleanup: () => Promise<void>
}

/**
 * Pre-fill a journal (synchronous=FULL) with `events` events of `bodyBytes`, then time the real
 * Forwarder (default options) draining it into a RabbitBroker (confirm channel, default window)
 * until every entry is marked forwarded. The fill is not timed.
 */
export function benchForwarder(o: {
  queue: string
  events: number
  bodyBytes: number
  /** Events per broker message (SLUICE_ENVELOPE_EVENTS). @defaultValue the adapter's */
  envelopeEvents?: number
}): Promise<ForwarderRate> {
  return benchForwarderInto(
    (logger) => ({
      broker: new RabbitBroker(
        {
          url: AMQP_URL,
          queue: o.queue,
          ...(o.envelopeEvents ? { envelopeEvents: o.envelopeEvents } : {}),
        },
        logger,
      ),
      cleanup: () => deleteRabbitTopology(o.queue),
    }),
    o,
  )
}

/** The same drain into any adapter `make` builds (RabbitMQ above, SQS in bench/burst). */
export async function benchForwarderInto(
  make: (logger: Logger) => BrokerUnderTest,
  o: { events: number; bodyBytes: number },
): Promise<ForwarderRate> {
  const logger = createLogger('warn')
  const { broker, cleanup } = make(logger)
  const dir = mkdtempSync(join(tmpdir(), 'sluice-bench-fwd-'))
  const journal = new SqliteJournal({ dataDir: dir, sync: 'full' })
  let forwarder: Forwarder | null = null
  try {
    await journal.start()
    const body = Buffer.alloc(o.bodyBytes, 'x')
    let next = 0
    const fill = async () => {
      while (next++ < o.events) {
        await journal.append({
          id: randomUUID(),
          source: 'bench',
          contentType: 'application/json',
          headers: { 'content-type': 'application/json', 'user-agent': 'bench' },
          body,
          verifiedBy: null,
        })
      }
    }
    await Promise.all(Array.from({ length: 500 }, fill))
    await broker.start()
    forwarder = new Forwarder(journal, broker, logger)
    const started = performance.now()
    void forwarder.start()
    const deadline = started + 300_000
    while (forwarder.status().forwarded < o.events) {
      if (performance.now() > deadline) throw new Error('forwarder did not drain in 300 s')
      await sleep(2)
    }
    const seconds = (performance.now() - started) / 1000
    return { events: o.events, seconds, perSecond: Math.round(o.events / seconds) }
  } finally {
    await forwarder?.close()
    await broker.close()
    await journal.close()
    rmSync(dir, { recursive: true, force: true })
    await cleanup()
  }
}
