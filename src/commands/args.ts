import { parseArgs } from 'node:util'

/** Exit codes of every `sluice` command (README "Operating"). */
export const ExitCode = Object.freeze({
  ok: 0,
  /** The command ran and failed (start-up failed, data directory locked, nothing to redrive). */
  failure: 1,
  /** Nothing was attempted: unknown command or option, invalid environment. */
  usage: 2,
})

/** One option of a command, as node:util parseArgs takes it, plus its --help text. */
export interface OptionSpec {
  type: 'string' | 'boolean'
  short?: string
  /** May be given several times: its value is then the array of them. */
  multiple?: boolean
  help: string
}

export interface CommandSpec {
  /** e.g. `sluice migrate` */
  name: string
  /** What follows the name in the synopsis, e.g. `[--id ID]`. */
  synopsis?: string
  /** What the command does, shown by --help. */
  description: string
  /** Options besides --help. */
  options?: Record<string, OptionSpec>
}

export type Parsed =
  | { ok: true; values: Record<string, string | boolean | (string | boolean)[] | undefined> }
  | { ok: false; exitCode: number }

const HELP: OptionSpec = { type: 'boolean', short: 'h', help: 'show this help and exit' }

/**
 * Parse a command's arguments with node:util parseArgs (strict: unknown options and stray
 * positionals are errors). `--help`/`-h` prints the help and returns exit code 0, so no
 * command acts when asked for help; a usage error prints one line and the synopsis on stderr
 * and returns 2.
 */
export function parseCommand(spec: CommandSpec, args: string[]): Parsed {
  const specs = { ...spec.options, help: HELP }
  const options = Object.fromEntries(
    Object.entries(specs).map(([name, o]) => [
      name,
      {
        type: o.type,
        ...(o.short ? { short: o.short } : {}),
        ...(o.multiple ? { multiple: true } : {}),
      },
    ]),
  )
  let values: Record<string, string | boolean | (string | boolean)[] | undefined>
  try {
    values = parseArgs({ args, options, strict: true, allowPositionals: false }).values
  } catch (err) {
    return { ok: false, exitCode: usageError(spec, err) }
  }
  if (values.help) {
    process.stdout.write(helpText(spec))
    return { ok: false, exitCode: ExitCode.ok }
  }
  return { ok: true, values }
}

/** Print `<name>: <one line>` and the synopsis on stderr; returns ExitCode.usage. */
export function usageError(spec: { name: string; synopsis?: string }, err: unknown): number {
  // parseArgs' messages go on with advice about `--`; the first sentence is the error.
  const message = err instanceof Error ? (err.message.split('. ')[0] ?? err.message) : String(err)
  process.stderr.write(
    `${spec.name}: ${message.charAt(0).toLowerCase()}${message.slice(1)}\n` +
      `usage: ${synopsis(spec)} (see ${spec.name} --help)\n`,
  )
  return ExitCode.usage
}

function synopsis(spec: { name: string; synopsis?: string }): string {
  return `${spec.name}${spec.synopsis ? ` ${spec.synopsis}` : ''} [-h]`
}

function helpText(spec: CommandSpec): string {
  const rows = Object.entries({ ...spec.options, help: HELP }).map(([name, o]) => {
    const flag = `${o.short ? `-${o.short}, ` : ''}--${name}${o.type === 'string' ? ' VALUE' : ''}`
    return [flag, o.help] as const
  })
  const width = Math.max(...rows.map(([flag]) => flag.length))
  return [
    `Usage: ${synopsis(spec)}`,
    '',
    spec.description,
    '',
    'Options:',
    ...rows.map(([flag, help]) => `  ${flag.padEnd(width)}  ${help}`),
    '',
    'Configuration comes from the environment (PORT, SLUICE_DATA_DIR, DATABASE_URL, ...); see',
    'the README. Exit codes: 0 ok, 1 failed, 2 usage or configuration error.',
    '',
  ].join('\n')
}
