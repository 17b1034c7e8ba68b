import { readFileSync } from 'node:fs'

/**
 * Secret variables that may instead be given as a file (`<NAME>_FILE`), the convention of
 * Docker and Compose secrets (mounted under /run/secrets) and of systemd's LoadCredential=:
 * the secret then never appears in the environment of `docker inspect` or `/proc/<pid>/environ`.
 */
export const FILE_VARIABLES = [
  'DATABASE_URL',
  'AMQP_URL',
  'SLUICE_ADMIN_TOKEN',
  'SLUICE_SECRET_KEY',
] as const

/**
 * Read a secret file: its contents with one trailing newline (LF or CRLF) removed, since
 * `echo secret > file` and editors add one. Returns an error message instead of throwing so
 * that the callers can word it for their own setting.
 */
export function readSecretFile(path: string): { value: string } | { error: string } {
  try {
    return { value: readFileSync(path, 'utf8').replace(/\r?\n$/, '') }
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code
    return { error: `cannot read ${path} (${why ?? (err as Error).message})` }
  }
}

/**
 * The environment with each `<NAME>_FILE` replaced by `<NAME>` holding the file's contents.
 * Returns the problems found (both forms set, file unreadable), each naming the variables and
 * the path; the caller reports them with the other configuration errors.
 */
export function resolveFileVariables(env: NodeJS.ProcessEnv): {
  env: NodeJS.ProcessEnv
  problems: string[]
  /** Variable name -> the `_FILE` variable and path its value was read from. */
  fromFile: Map<string, string>
} {
  const out: NodeJS.ProcessEnv = { ...env }
  const problems: string[] = []
  const fromFile = new Map<string, string>()
  for (const name of FILE_VARIABLES) {
    const fileVar = `${name}_FILE`
    const path = env[fileVar]
    delete out[fileVar]
    if (path === undefined || path === '') continue
    if (env[name] !== undefined && env[name] !== '') {
      problems.push(`${name} and ${fileVar} are both set; set only one of them`)
      continue
    }
    const read = readSecretFile(path)
    if ('error' in read) problems.push(`${fileVar}: ${read.error}`)
    else {
      out[name] = read.value
      fromFile.set(name, `${fileVar}=${path}`)
    }
  }
  return { env: out, problems, fromFile }
}
