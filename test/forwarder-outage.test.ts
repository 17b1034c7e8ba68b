import t from 'tap'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pino } from 'pino'
import { SqliteJournal } from '../journal/index.js'
import { Forwarder } from '../src/forwarder/index.js'
import { RabbitBroker } from '../src/brokers/index.js'
import { TcpProxy } from './helpers/tcp-proxy.js'
import { until } from './helpers/wait.js'
import { AMQP_URL, deleteRabbitTopology } from './helpers/broker-fixtures.js'
import { failOnLeaks } from './helpers/leaks.js'

const logger = pino({ level: 'silent' })

t.test(
  'RabbitMQ outage: ingest keeps journaling, backlog drains after restore, nothing lost',
  async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-fwd-outage-'))
    const queue = `sluice.test.fwd-outage-${process.pid}-${Date.now().toString(36)}`
    const proxy = new TcpProxy('127.0.0.1', 5672)
    const port = await proxy.start()
    const journal = new SqliteJournal({ dataDir: dir, sync: 'normal' })
    await journal.start()
    const publisher = new RabbitBroker(
      {
        url: `amqp://guest:guest@127.0.0.1:${port}`,
        queue,
        reconnectBaseMs: 200,
        reconnectMaxMs: 1000,
        publishTimeoutMs: 2000,
      },
      logger,
    )
    const consumer = new RabbitBroker({ url: AMQP_URL, queue }, logger)
    await publisher.start()
    await consumer.start()
    const forwarder = new Forwarder(journal, publisher, logger, {
      batchSize: 100,
      retryBaseMs: 100,
      retryCapMs: 1000,
    })
    t.teardown(async () => {
      await forwarder.close()
      await publisher.close()
      await consumer.close()
      await journal.close()
      await proxy.close()
      await deleteRabbitTopology(queue)
      rmSync(dir, { recursive: true, force: true })
    })

    const received = new Set<string>()
    await consumer.subscribe(
      (d) => {
        received.add(d.event.id)
        void d.ack()
      },
      { prefetch: 200 },
    )
    void forwarder.start()
    let n = 0
    const append = async (count: number) => {
      const results = await Promise.allSettled(
        Array.from({ length: count }, () =>
          journal.append({
            id: `o-${n++}`,
            source: 'default',
            contentType: 'text/plain',
            headers: {},
            body: Buffer.from(`event ${n}`),
            verifiedBy: null,
          }),
        ),
      )
      return results.filter((r) => r.status === 'fulfilled').length
    }

    t.equal(await append(300), 300, 'before the outage: all appended')
    await until('the first 300 reached the queue', () => received.size === 300)

    proxy.cut()
    const attemptsAtCut = proxy.attempts
    await until('the publisher notices the outage', () => publisher.state() !== 'up')
    t.equal(await append(300), 300, 'during the outage: every append still commits')
    // Let the outage outlast several reconnects and publish attempts: counted, not timed, so a
    // busy machine only makes it take longer.
    await until('the adapter tried to reconnect 3 times', () => proxy.attempts - attemptsAtCut >= 3)
    await until('the forwarder failed 3 times', () => forwarder.status().consecutiveFailures >= 3)
    t.equal(await append(300), 300, 'still committing after several failed reconnects')
    t.ok(journal.stats().pending > 0, 'backlog held in the journal while the broker is unreachable')
    const reconnects = proxy.attempts - attemptsAtCut
    // A tight loop would have made hundreds of attempts by the time these were observed
    // (reconnects wait at least reconnectBaseMs / 2 = 100 ms each).
    t.ok(
      reconnects <= 15,
      `reconnect attempts are backed off, not a tight loop (${reconnects} so far)`,
    )
    t.equal(received.size, 300, 'nothing reached the queue while the link was cut')

    proxy.restore()
    t.equal(await append(100), 100, 'after restore: appends commit')
    await until('every journaled event reached the queue', () => received.size === 1000)
    await until('the journal backlog is empty', () => journal.stats().pending === 0)
    t.equal(received.size, 1000, 'all 1000 events delivered (duplicates allowed, loss not)')
    t.equal(forwarder.status().consecutiveFailures, 0, 'forwarder healthy again')
  },
)

failOnLeaks(t)
