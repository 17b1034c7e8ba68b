/**
 * Child process for test/dead-letters-crash.test.ts: a real consumer on the broker named by the
 * JSON BrokerChoice in argv[2], storing into the database argv[3] with the engine's own store
 * step, dead letters into its dead_letters table. With argv[4] = 'crash', it dies by SIGKILL
 * right after its first dead-letter commit, before any broker ack of that batch: the window the
 * test is about. Prints `{ deadLettered: N, ids }` lines (JSON) when letters are committed.
 */
import pg from 'pg'
import { pino } from 'pino'
import { createBroker, type BrokerChoice } from '../../src/brokers/index.js'
import { Consumer } from '../../src/consumer/index.js'
import { writeDeadLetters } from '../../src/db/dead-letters.js'
import { ping } from '../../src/db/ping.js'
import { inProcessStore } from '../../src/commands/in-process-store.js'
import { runConsumerChild } from './consumer-child.js'

const choice = JSON.parse(process.argv[2]!) as BrokerChoice
const pool = new pg.Pool({ connectionString: process.argv[3]!, max: 4 })
const crash = process.argv[4] === 'crash'
const logger = pino({ level: 'silent' })
const broker = createBroker(choice, logger)
await broker.start()
const consumer = new Consumer(
  {
    subscriber: broker,
    processor: inProcessStore(pool),
    databaseUp: async () => (await ping(pool, 1000)).ok,
    logger,
    deadLetters: {
      async write(letters) {
        await writeDeadLetters(pool, letters)
        const ids = letters.map((l) => l.event.id)
        process.stdout.write(`${JSON.stringify({ deadLettered: letters.length, ids })}\n`)
        if (crash && letters.length > 0) process.kill(process.pid, 'SIGKILL')
      },
    },
  },
  { maxAttempts: 2, retryBaseMs: 20, retryCapMs: 100, batchSize: 16, concurrency: 1 },
)
await runConsumerChild(consumer, broker, pool)
