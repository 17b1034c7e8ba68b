import { createBroker } from './brokers/index.js'
import { dlqList, dlqRedrive, parseRedriveArgs } from './commands/dlq.js'
import { ConfigError, loadConfig, type Config } from './config.js'
import { migrateCommand } from './db/database.js'
import { getFailures } from './db/failures.js'
import pg from 'pg'
import { Engine } from './engine.js'
import { createLogger } from './log.js'

interface Subcommand {
  summary: string
  run(args: string[]): Promise<number>
}

/**
 * The `sluice` subcommands. Others (migrate, dlq) are added here as entries: the key is the
 * first argument, `summary` shows in --help, `run` returns the exit code.
 */
export const subcommands: Record<string, Subcommand> = {
  start: { summary: 'run the engine (HTTP ingest, journal, pipeline)', run: () => start() },
  migrate: { summary: 'apply database migrations and exit', run: () => migrate() },
  dlq: {
    summary: 'dead-lettered events: `dlq list`, `dlq redrive [--id ID]`',
    run: (args) => dlq(args),
  },
}

function usage(): string {
  const width = Math.max(...Object.keys(subcommands).map((k) => k.length))
  const lines = Object.entries(subcommands).map(([k, c]) => `  ${k.padEnd(width)}  ${c.summary}`)
  return [
    'Usage: sluice <command> [options]',
    '',
    'Commands:',
    ...lines,
    '',
    'Configuration comes from the environment (PORT, HOST, SLUICE_DATA_DIR, ...); see the README.',
    '',
  ].join('\n')
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage())
    return name === undefined ? 1 : 0
  }
  const cmd = subcommands[name]
  if (!cmd) {
    process.stderr.write(`sluice: unknown command '${name}'\n\n${usage()}`)
    return 1
  }
  return cmd.run(rest)
}

/** The validated configuration, or null after printing why it is invalid. */
function configOrNull(): Config | null {
  try {
    return loadConfig()
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`)
      return null
    }
    throw err
  }
}

async function migrate(): Promise<number> {
  const config = configOrNull()
  if (!config) return 2
  const logger = createLogger(config.SLUICE_LOG_LEVEL)
  const result = await migrateCommand({
    ...(config.DATABASE_URL ? { databaseUrl: config.DATABASE_URL } : {}),
    dataDir: config.SLUICE_DATA_DIR,
    logger,
  })
  logger.info({ applied: result.applied, version: result.version }, 'migrations applied')
  return 0
}

async function dlq(args: string[]): Promise<number> {
  const [action, ...rest] = args
  if (action !== 'list' && action !== 'redrive') {
    process.stderr.write('usage: sluice dlq list | sluice dlq redrive [--id ID]\n')
    return 1
  }
  let id: string | undefined
  try {
    id = action === 'redrive' ? parseRedriveArgs(rest).id : undefined
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`)
    return 1
  }
  const config = configOrNull()
  if (!config) return 2
  const logger = createLogger(config.SLUICE_LOG_LEVEL === 'info' ? 'warn' : config.SLUICE_LOG_LEVEL)
  const broker = createBroker(config, logger)
  // Only an external database: the embedded one belongs to the running engine.
  const pool = config.DATABASE_URL
    ? new pg.Pool({ connectionString: config.DATABASE_URL, max: 1 })
    : null
  try {
    await broker.start()
    const io = { out: (line: string) => process.stdout.write(`${line}\n`) }
    if (action === 'redrive') return await dlqRedrive(broker, io, id)
    const lookup = pool
      ? (keys: { source: string; id: string }[]) =>
          getFailures(pool, keys).catch((err: unknown) => {
            process.stderr.write(`recorded failures unavailable: ${(err as Error).message}\n`)
            return []
          })
      : undefined
    return await dlqList(broker, io, 100, lookup)
  } finally {
    await broker.close()
    await pool?.end()
  }
}

async function start(): Promise<number> {
  const config = configOrNull()
  if (!config) return 2
  const logger = createLogger(config.SLUICE_LOG_LEVEL)
  const engine = new Engine(config, { logger })
  try {
    await engine.start()
  } catch (err) {
    logger.fatal({ err }, 'start-up failed')
    return 1
  }
  logger.info({ host: config.HOST, port: engine.port }, 'listening')

  // First signal: graceful stop bounded by SLUICE_SHUTDOWN_TIMEOUT_MS. Second: exit now.
  return new Promise<number>((resolve) => {
    let stopping = false
    const onSignal = (signal: NodeJS.Signals) => {
      if (stopping) {
        logger.warn({ signal }, 'second signal: forcing exit')
        process.exit(130)
      }
      stopping = true
      logger.info({ signal }, 'shutting down')
      const timer = setTimeout(() => {
        logger.error(
          { timeoutMs: config.SLUICE_SHUTDOWN_TIMEOUT_MS },
          'shutdown timed out: forcing exit',
        )
        process.exit(1)
      }, config.SLUICE_SHUTDOWN_TIMEOUT_MS)
      timer.unref()
      engine.close().then(
        () => {
          clearTimeout(timer)
          process.off('SIGTERM', onSignal).off('SIGINT', onSignal)
          logger.info('stopped')
          resolve(0)
        },
        (err: unknown) => {
          clearTimeout(timer)
          process.off('SIGTERM', onSignal).off('SIGINT', onSignal)
          logger.error({ err }, 'stopped with errors')
          resolve(1)
        },
      )
    }
    process.on('SIGTERM', onSignal).on('SIGINT', onSignal)
  })
}
