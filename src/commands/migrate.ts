import { withDataDirLock } from '../data-dir-lock.js'
import { migrateCommand as migrateDatabase } from '../db/database.js'
import { createLogger } from '../log.js'
import { ExitCode, parseCommand, type CommandSpec } from './args.js'
import { commandConfig } from './config.js'

export const migrateSpec: CommandSpec = {
  name: 'sluice migrate',
  description:
    'Apply pending database migrations and exit (the engine also applies them on start). With\n' +
    'DATABASE_URL, safe to run from several nodes at once; without it, the embedded Postgres\n' +
    'under SLUICE_DATA_DIR is opened, which fails while an engine runs on that directory.',
}

/** `sluice migrate`: resolves with the exit code. */
export async function migrateCommand(args: string[]): Promise<number> {
  const parsed = parseCommand(migrateSpec, args)
  if (!parsed.ok) return parsed.exitCode
  const config = commandConfig()
  if (!config) return ExitCode.usage
  const logger = createLogger(config.SLUICE_LOG_LEVEL)
  const url = config.DATABASE_URL
  const run = () =>
    migrateDatabase({
      ...(url ? { databaseUrl: url } : {}),
      dataDir: config.SLUICE_DATA_DIR,
      logger,
    })
  try {
    // Only the embedded database lives in the data directory. A shared DATABASE_URL is
    // migrated by many nodes at once (serialised by an advisory lock), so no lock here.
    const result = url
      ? await run()
      : await withDataDirLock(config.SLUICE_DATA_DIR, 'sluice migrate', run)
    logger.info({ applied: result.applied, version: result.version }, 'migrations applied')
    return ExitCode.ok
  } catch (err) {
    process.stderr.write(`${migrateSpec.name}: ${(err as Error).message}\n`)
    return ExitCode.failure
  }
}
