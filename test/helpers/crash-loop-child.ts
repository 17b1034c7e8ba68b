/**
 * Child process for test/consumer-crash-loop.test.ts: a real consumer on the broker named by the
 * JSON BrokerChoice in argv[2], storing into the database argv[3] with the engine's own store
 * step and crash guard. It dies by SIGKILL whenever it is about to store an event whose id is
 * `poison` (a bug that takes the whole engine down, e.g. a native crash or the OOM killer).
 * Prints JSON lines: `consuming`, `dying`, and `idle` when it holds nothing. argv[4], optional,
 * is JSON ConsumerOptions over the defaults below (e.g. more than one batch at once).
 */
import { setTimeout as sleep } from 'node:timers/promises'
import pg from 'pg'
import { pino } from 'pino'
import { createBroker, type BrokerChoice } from '../../src/brokers/index.js'
import { Consumer, type ConsumerOptions } from '../../src/consumer/index.js'
import { writeDeadLetters } from '../../src/db/dead-letters.js'
import { ping } from '../../src/db/ping.js'
import { crashGuardOn } from '../../src/db/runs-alone.js'
import { inProcessStore } from '../../src/commands/in-process-store.js'
import { runConsumerChild } from './consumer-child.js'

const choice = JSON.parse(process.argv[2]!) as BrokerChoice
const options = JSON.parse(process.argv[4] ?? '{}') as ConsumerOptions
const pool = new pg.Pool({ connectionString: process.argv[3]!, max: 4 })
const logger = pino({ level: 'silent' })
const broker = createBroker(choice, logger)
await broker.start()
const store = inProcessStore(pool)
const consumer = new Consumer(
  {
    subscriber: broker,
    processor: {
      run: async (events) => {
        if (events.some((e) => e.id === 'poison')) {
          process.stdout.write(`${JSON.stringify({ dying: events.length })}\n`)
          // Alone, it takes a while to die (memory grows until the OOM killer comes), and an
          // event stored alone takes a moment: other batches run meanwhile, if anything lets
          // them. In a batch it dies at once, before any other batch settles.
          if (events.length === 1) await sleep(300)
          process.kill(process.pid, 'SIGKILL')
        }
        if (events.length === 1) await sleep(50)
        return store.run(events)
      },
    },
    databaseUp: async () => (await ping(pool, 1000)).ok,
    logger,
    deadLetters: { write: (letters) => writeDeadLetters(pool, letters) },
    crashGuard: crashGuardOn(pool),
  },
  { maxAttempts: 2, retryBaseMs: 20, retryCapMs: 100, batchSize: 16, concurrency: 1, ...options },
)
await runConsumerChild(consumer, broker, pool)
