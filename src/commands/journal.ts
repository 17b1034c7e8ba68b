import { existsSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { pino } from 'pino'
import { JOURNAL_FILE, SqliteJournal } from '../../journal/index.js'
import { createBroker } from '../brokers/index.js'
import type { Config } from '../config.js'
import { withDataDirLock } from '../data-dir-lock.js'
import { Forwarder } from '../forwarder/index.js'
import type { Logger } from '../log.js'
import { brokerChoice } from '../pipeline/broker-choice.js'
import { HealthTracker, retryUntilUp } from '../pipeline/bring-up.js'
import { sleep } from '../util/backoff.js'
import { runAll } from '../util/once.js'
import { ExitCode, parseCommand, usageError, type CommandSpec } from './args.js'
import { commandConfig } from './config.js'

const DEFAULT_TIMEOUT_SECONDS = 600
/** How often the drain checks the journal, and how often it logs its progress. */
const POLL_MS = 100
const PROGRESS_MS = 5000

export const journalDrainSpec: CommandSpec = {
  name: 'sluice journal drain',
  synopsis: '[--timeout SECONDS]',
  description:
    "Forward every pending entry of the journal in SLUICE_DATA_DIR (a node's unforwarded events)\n" +
    'to the broker the environment configures (SLUICE_BROKER rabbitmq or sqs, with AMQP_URL and\n' +
    'SLUICE_QUEUE or SQS_QUEUE_URL), for a node that will not run again; the consumers of any\n' +
    'node on that queue then store them. It takes the data directory, so it refuses while an\n' +
    'engine runs there. Waits until no entry is pending and prints one JSON line\n' +
    '{"forwarded":N}. Exit code 1 when that did not happen within --timeout: what is left stays\n' +
    'in the journal, and running the command again goes on from there.',
  options: {
    timeout: {
      type: 'string',
      help: `give up after this many seconds (default ${DEFAULT_TIMEOUT_SECONDS})`,
    },
  },
}

const JOURNAL = { name: 'sluice journal', synopsis: 'drain [options]' }

/** `sluice journal drain`: resolves with the exit code. */
export async function journalCommand(args: string[]): Promise<number> {
  const [action, ...rest] = args
  if (action !== 'drain') {
    if (action === '--help' || action === '-h') {
      process.stdout.write(
        'Usage: sluice journal drain [options]; see sluice journal drain --help\n',
      )
      return ExitCode.ok
    }
    return usageError(JOURNAL, new Error(action ? `unknown action '${action}'` : 'missing action'))
  }
  const spec = journalDrainSpec
  const parsed = parseCommand(spec, rest)
  if (!parsed.ok) return parsed.exitCode
  const { timeout } = parsed.values as Record<string, string | undefined>
  const seconds = timeout === undefined ? DEFAULT_TIMEOUT_SECONDS : Number(timeout)
  if (!/^\d+$/.test(timeout ?? '0') || seconds < 1 || seconds > 86_400) {
    return usageError(spec, new Error('--timeout must be an integer from 1 to 86400 (seconds)'))
  }
  const config = commandConfig()
  if (!config) return ExitCode.usage
  if (config.SLUICE_BROKER === 'local') {
    process.stderr.write(
      `${spec.name}: SLUICE_BROKER is local, whose queue (queue.db) is in the same data ` +
        'directory: draining would move nothing off this node. Set SLUICE_BROKER and its ' +
        'variables to the broker the other nodes share, or start an engine on this directory.\n',
    )
    return ExitCode.usage
  }
  const dir = resolve(config.SLUICE_DATA_DIR)
  // Checked before the lock, which would create the directory: a mistyped path must not look
  // like a node with nothing to forward.
  if (!existsSync(join(dir, JOURNAL_FILE))) {
    process.stderr.write(
      `${spec.name}: no journal in ${dir} (${JOURNAL_FILE} is missing): ` +
        "SLUICE_DATA_DIR must be the node's data directory\n",
    )
    return ExitCode.failure
  }
  // Logs go to stderr: stdout carries only the result line.
  const logger = pino(
    { level: config.SLUICE_LOG_LEVEL, base: { pid: process.pid } },
    pino.destination({ dest: 2, sync: true }),
  )
  try {
    const forwarded = await withDataDirLock(dir, spec.name, () =>
      drainJournal(config, logger, seconds * 1000),
    )
    process.stdout.write(`${JSON.stringify({ forwarded })}\n`)
    return ExitCode.ok
  } catch (err) {
    process.stderr.write(`${spec.name}: ${(err as Error).message}\n`)
    return ExitCode.failure
  }
}

/**
 * Forward the journal's pending entries with the engine's own Forwarder (confirmed publishes
 * only, so an entry leaves the journal once the broker holds it) until none is pending;
 * resolves with how many were forwarded, rejects when that took longer than timeoutMs.
 * An interruption (kill, timeout) loses nothing: unconfirmed entries stay pending, and an
 * entry that was confirmed but not yet marked is published again next time, a repeat that
 * the consumers' (source, id) key makes one row.
 */
export async function drainJournal(
  config: Config,
  logger: Logger,
  timeoutMs: number,
): Promise<number> {
  const journal = new SqliteJournal({
    dataDir: config.SLUICE_DATA_DIR,
    sync: config.SLUICE_JOURNAL_SYNC,
  })
  const broker = createBroker(brokerChoice(config), logger)
  const forwarder = new Forwarder(journal, broker, logger.child({ component: 'forwarder' }))
  const deadline = new AbortController()
  const timer = setTimeout(() => deadline.abort(), timeoutMs)
  try {
    await journal.start()
    const before = journal.stats().pending
    logger.info({ pending: before, broker: broker.name }, 'draining the journal')
    if (before === 0) return 0
    const timedOut = () => {
      const pending = journal.stats().pending
      const { lastError } = forwarder.status()
      return new Error(
        `timed out after ${timeoutMs / 1000} s with ${pending} of ${before} entries still ` +
          `pending (broker ${broker.name}: ${broker.state()}` +
          `${lastError ? `; last error: ${lastError}` : ''}). They stay in the journal: ` +
          'run the command again once the broker is reachable',
      )
    }
    try {
      await retryUntilUp('broker', () => broker.start(), {
        signal: deadline.signal,
        logger,
        health: new HealthTracker('broker', logger.child({ component: 'broker' })),
        classify: () => null,
        permanentRetryMs: 5000,
      })
    } catch (err) {
      if (deadline.signal.aborted) throw timedOut()
      throw err
    }
    await forwarder.start()
    let logAt = Date.now() + PROGRESS_MS
    while (journal.stats().pending > 0) {
      if (deadline.signal.aborted) throw timedOut()
      if (Date.now() >= logAt) {
        logAt = Date.now() + PROGRESS_MS
        logger.info({ pending: journal.stats().pending, ...forwarder.status() }, 'draining')
      }
      await sleep(POLL_MS, deadline.signal)
    }
    const { forwarded } = forwarder.status()
    logger.info({ forwarded }, 'journal drained')
    return forwarded
  } finally {
    clearTimeout(timer)
    await runAll([
      ['forwarder', () => forwarder.close()],
      ['broker', () => broker.close()],
      ['journal', () => journal.close()],
    ])
  }
}
