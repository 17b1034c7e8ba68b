import { existsSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { pino } from 'pino'
import { createBroker } from '../brokers/index.js'
import { QueueStore } from '../brokers/local/store.js'
import type { Config } from '../config.js'
import { withDataDirLock } from '../data-dir-lock.js'
import type { Logger } from '../log.js'
import { brokerChoice } from '../pipeline/broker-choice.js'
import { HealthTracker, retryUntilUp } from '../pipeline/bring-up.js'
import { QUEUE_FILE } from '../pipeline/local-queue-check.js'
import { backoffDelay, sleep } from '../util/backoff.js'
import { ExitCode, parseCommand, usageError, type CommandSpec } from './args.js'
import { commandConfig } from './config.js'

const DEFAULT_TIMEOUT_SECONDS = 600
/** Messages per publish: the broker packs them into envelopes (SLUICE_ENVELOPE_EVENTS). */
const BATCH = 500

export const queueDrainSpec: CommandSpec = {
  name: 'sluice queue drain',
  synopsis: '[--timeout SECONDS]',
  description:
    'Move every message of the local queue in SLUICE_DATA_DIR (queue.db, used while SLUICE_BROKER\n' +
    'was local) to the broker the environment now configures (SLUICE_BROKER rabbitmq or sqs,\n' +
    'with AMQP_URL and SLUICE_QUEUE or SQS_QUEUE_URL), so that `sluice start` with that broker\n' +
    'no longer refuses. A message leaves queue.db only once the broker confirmed it. Takes the\n' +
    'data directory, so it refuses while an engine runs there. Prints {"moved":N}; exit code 1\n' +
    'when the broker did not take them all within --timeout (the rest stay in queue.db).',
  options: {
    timeout: {
      type: 'string',
      help: `give up after this many seconds (default ${DEFAULT_TIMEOUT_SECONDS})`,
    },
  },
}

const QUEUE = { name: 'sluice queue', synopsis: 'drain [options]' }

/** `sluice queue drain`: resolves with the exit code. */
export async function queueCommand(args: string[]): Promise<number> {
  const [action, ...rest] = args
  if (action !== 'drain') {
    if (action === '--help' || action === '-h') {
      process.stdout.write('Usage: sluice queue drain [options]; see sluice queue drain --help\n')
      return ExitCode.ok
    }
    return usageError(QUEUE, new Error(action ? `unknown action '${action}'` : 'missing action'))
  }
  const parsed = parseCommand(queueDrainSpec, rest)
  if (!parsed.ok) return parsed.exitCode
  const { timeout } = parsed.values as Record<string, string | undefined>
  const seconds = timeout === undefined ? DEFAULT_TIMEOUT_SECONDS : Number(timeout)
  if (!/^\d+$/.test(timeout ?? '0') || seconds < 1 || seconds > 86_400) {
    return usageError(queueDrainSpec, new Error('--timeout must be an integer from 1 to 86400'))
  }
  const config = commandConfig()
  if (!config) return ExitCode.usage
  const name = queueDrainSpec.name
  if (config.SLUICE_BROKER === 'local') {
    process.stderr.write(
      `${name}: SLUICE_BROKER is local: set it (and its variables) to the broker the local ` +
        "queue's messages should move to\n",
    )
    return ExitCode.usage
  }
  const dir = resolve(config.SLUICE_DATA_DIR)
  if (!existsSync(join(dir, QUEUE_FILE))) {
    process.stderr.write(`${name}: no local queue in ${dir} (${QUEUE_FILE} is missing)\n`)
    return ExitCode.failure
  }
  // Logs go to stderr: stdout carries only the result line.
  const logger = pino(
    { level: config.SLUICE_LOG_LEVEL, base: { pid: process.pid } },
    pino.destination({ dest: 2, sync: true }),
  )
  try {
    const moved = await withDataDirLock(dir, name, () =>
      drainLocalQueue(config, logger, seconds * 1000),
    )
    process.stdout.write(`${JSON.stringify({ moved })}\n`)
    return ExitCode.ok
  } catch (err) {
    process.stderr.write(`${name}: ${(err as Error).message}\n`)
    return ExitCode.failure
  }
}

/**
 * Publish queue.db's messages to the configured broker in insertion order and delete each one
 * the broker confirmed; resolves with how many moved. An interruption loses nothing: a message
 * is deleted only after its confirm, and one confirmed but not yet deleted is published again
 * next time, a repeat that the consumers' (source, id) key makes one row.
 */
export async function drainLocalQueue(
  config: Config,
  logger: Logger,
  timeoutMs: number,
): Promise<number> {
  const store = new QueueStore(config.SLUICE_DATA_DIR, config.SLUICE_JOURNAL_SYNC)
  const broker = createBroker(brokerChoice(config), logger)
  const deadline = AbortSignal.timeout(timeoutMs)
  const timedOut = () =>
    new Error(
      `timed out after ${timeoutMs / 1000} s with ${store.count()} message(s) left in ` +
        `${QUEUE_FILE} (broker ${broker.name}: ${broker.state()}); run the command again`,
    )
  try {
    const before = store.count()
    logger.info({ messages: before, broker: broker.name }, 'moving the local queue')
    if (before === 0) return 0
    await retryUntilUp('broker', () => broker.start(), {
      signal: deadline,
      logger,
      health: new HealthTracker('broker', logger.child({ component: 'broker' })),
      classify: () => null,
      permanentRetryMs: 5000,
    }).catch((err: unknown) => {
      throw deadline.aborted ? timedOut() : err
    })
    let moved = 0
    let failures = 0
    let after = 0
    for (let page = store.page(after, BATCH); page.length > 0; page = store.page(after, BATCH)) {
      if (deadline.aborted) throw timedOut()
      const confirmed = await broker.publish(page.map((m) => m.event)).catch((err: unknown) => {
        logger.warn({ err }, 'publish failed; retrying')
        return page.map(() => false)
      })
      const done = page.filter((_, i) => confirmed[i]).map((m) => m.seq)
      store.ack(done)
      moved += done.length
      if (done.length === page.length) {
        after = page.at(-1)!.seq
        failures = 0
      } else {
        // Unconfirmed ones are published again from the same place, after a back-off.
        await sleep(backoffDelay(failures++, 100, 5000), deadline)
      }
    }
    logger.info({ moved }, 'local queue moved')
    return moved
  } finally {
    await broker.close().catch(() => {})
    store.close()
  }
}
