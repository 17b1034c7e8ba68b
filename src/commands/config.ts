import { ConfigError, loadConfig, type Config } from '../config.js'

/**
 * The validated configuration, or null after printing why it is invalid on stderr (the
 * command then exits with ExitCode.usage). Other errors propagate.
 */
export function commandConfig(env: NodeJS.ProcessEnv = process.env): Config | null {
  try {
    return loadConfig(env)
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`)
      return null
    }
    throw err
  }
}
