import { ConfigError } from '../config.js'
import { Engine } from '../engine.js'
import { createLogger, type Logger } from '../log.js'
import { ExitCode, parseCommand, type CommandSpec } from './args.js'
import { refuseStrandedLocalQueue } from '../pipeline/local-queue-check.js'
import { commandConfig } from './config.js'
import { warnNodeEndOfLife } from '../node-support.js'

export const startSpec: CommandSpec = {
  name: 'sluice start',
  description:
    'Run the engine: HTTP ingest, journal, forwarder, consumer and workers. Logs one JSON line\n' +
    "'listening' with the port; the first SIGTERM/SIGINT stops it gracefully (bounded by\n" +
    'SLUICE_SHUTDOWN_TIMEOUT_MS), a second one forces the exit.',
}

/**
 * A repeat of the same stop request can arrive within milliseconds: npm forwards the signal it
 * got to the engine, and a terminal's Ctrl-C (the whole foreground process group) or systemd's
 * control-group kill deliver it to the engine directly as well. Only a signal this long after
 * the first counts as the operator's second one.
 */
const REPEAT_WINDOW_MS = 500

/** Exit code of a stop forced by a second signal (128 + SIGINT, as shells report Ctrl-C). */
const FORCED_EXIT = 130

/** `sluice start`: resolves with the exit code once the engine stopped. */
export async function startCommand(args: string[]): Promise<number> {
  const parsed = parseCommand(startSpec, args)
  if (!parsed.ok) return parsed.exitCode
  const config = commandConfig()
  if (!config) return ExitCode.usage
  try {
    refuseStrandedLocalQueue(config)
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`)
    return ExitCode.usage
  }
  const logger = createLogger(config.SLUICE_LOG_LEVEL)
  warnNodeEndOfLife(logger)
  const engine = new Engine(config, { logger })
  try {
    await engine.start()
  } catch (err) {
    // A configuration found wrong only at start (a key file's mode): exit 2 as docs/errors.md
    // promises for config_invalid. Engine.start wraps what a component threw.
    const config = err instanceof ConfigError || (err as Error).cause instanceof ConfigError
    logger.fatal({ err, ...(config && { code: 'config_invalid' }) }, 'start-up failed')
    return config ? ExitCode.usage : ExitCode.failure
  }
  logger.info({ host: config.HOST, port: engine.port, adminPort: engine.adminPort }, 'listening')
  return stopOnSignal(engine, logger, config.SLUICE_SHUTDOWN_TIMEOUT_MS)
}

/** First signal: graceful stop bounded by timeoutMs. A second one: exit now. */
function stopOnSignal(engine: Engine, logger: Logger, timeoutMs: number): Promise<number> {
  return new Promise<number>((resolve) => {
    let firstAt: number | null = null
    const onSignal = (signal: NodeJS.Signals) => {
      if (firstAt !== null) {
        if (performance.now() - firstAt < REPEAT_WINDOW_MS) return
        logger.warn({ signal }, 'second signal: forcing exit')
        process.exit(FORCED_EXIT)
      }
      firstAt = performance.now()
      logger.info({ signal }, 'shutting down')
      const timer = setTimeout(() => {
        logger.error({ timeoutMs }, 'shutdown timed out: forcing exit')
        process.exit(ExitCode.failure)
      }, timeoutMs)
      timer.unref()
      const done = (code: number) => {
        clearTimeout(timer)
        process.off('SIGTERM', onSignal).off('SIGINT', onSignal)
        resolve(code)
      }
      engine.close().then(
        () => {
          logger.info('stopped')
          done(ExitCode.ok)
        },
        (err: unknown) => {
          logger.error({ err }, 'stopped with errors')
          done(ExitCode.failure)
        },
      )
    }
    process.on('SIGTERM', onSignal).on('SIGINT', onSignal)
  })
}
