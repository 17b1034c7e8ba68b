/**
 * Child process for test/consumer-crash-loop.test.ts: a real consumer on the broker named by the
 * JSON BrokerChoice in argv[2], storing into the database argv[3] with the engine's own store
 * step and crash guard. It dies by SIGKILL whenever it is about to store an event whose id is
 * `poison` (a bug that takes the whole engine down, e.g. a native crash or the OOM killer).
 * Prints JSON lines: `consuming`, `dying`, and `idle` when it holds nothing.
 */
import pg from 'pg'
import { pino } from 'pino'
import { createBroker, type BrokerChoice } from '../../src/brokers/index.js'
import { Consumer } from '../../src/consumer/index.js'
import { writeDeadLetters } from '../../src/db/dead-letters.js'
import { ping } from '../../src/db/ping.js'
import { crashGuardOn } from '../../src/db/runs-alone.js'
import { inProcessStore } from '../../src/commands/in-process-store.js'
import { runConsumerChild } from './consumer-child.js'

const choice = JSON.parse(process.argv[2]!) as BrokerChoice
const pool = new pg.Pool({ connectionString: process.argv[3]!, max: 4 })
const logger = pino({ level: 'silent' })
const broker = createBroker(choice, logger)
await broker.start()
const store = inProcessStore(pool)
const consumer = new Consumer(
  {
    subscriber: broker,
    processor: {
      run: (events) => {
        if (events.some((e) => e.id === 'poison')) {
          process.stdout.write(`${JSON.stringify({ dying: events.length })}\n`)
          process.kill(process.pid, 'SIGKILL')
        }
        return store.run(events)
      },
    },
    databaseUp: async () => (await ping(pool, 1000)).ok,
    logger,
    deadLetters: { write: (letters) => writeDeadLetters(pool, letters) },
    crashGuard: crashGuardOn(pool),
  },
  { maxAttempts: 2, retryBaseMs: 20, retryCapMs: 100, batchSize: 16, concurrency: 1 },
)
await runConsumerChild(consumer, broker, pool)
