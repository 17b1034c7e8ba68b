import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { ExitCode, usageError } from './commands/args.js'
import { packageRoot } from './util/package-root.js'

type Run = (args: string[]) => Promise<number>

interface Subcommand {
  summary: string
  /** Loaded on use: `--help` and `--version` stay fast, and no command loads another's deps. */
  load(): Promise<Run>
}

/** The `sluice` subcommands; each body lives in src/commands/<name>.ts and parses its own args. */
export const subcommands: Record<string, Subcommand> = {
  start: {
    summary: 'run the engine (HTTP ingest, journal, pipeline)',
    load: async () => (await import('./commands/start.js')).startCommand,
  },
  migrate: {
    summary: 'apply database migrations and exit',
    load: async () => (await import('./commands/migrate.js')).migrateCommand,
  },
  dlq: {
    summary: 'dead-lettered events: `dlq list`, `dlq retry [--id ID]` (`redrive`: its alias)',
    load: async () => (await import('./commands/dlq.js')).dlqCommand,
  },
  status: {
    summary: "the running engine's state, backlog and rates (`--json` for scripts)",
    load: async () => (await import('./commands/status.js')).statusCommand,
  },
  events: {
    summary: 'stored events: `events list [--source S ...]`, `events show --id ID`',
    load: async () => (await import('./commands/events.js')).eventsCommand,
  },
  subscriptions: {
    summary:
      'outbound subscribers: `subscriptions list`, `add --url URL`, `disable|enable|resume --id ID`',
    load: async () => (await import('./commands/subscriptions.js')).subscriptionsCommand,
  },
  journal: {
    summary: "forward a node's unforwarded journal to the broker: `journal drain`",
    load: async () => (await import('./commands/journal.js')).journalCommand,
  },
  queue: {
    summary: 'move the local queue (queue.db) to the configured broker: `queue drain`',
    load: async () => (await import('./commands/queue.js')).queueCommand,
  },
}

const GLOBAL = { name: 'sluice', synopsis: '<command> [options]' }

function usage(): string {
  const width = Math.max(...Object.keys(subcommands).map((k) => k.length))
  const lines = Object.entries(subcommands).map(([k, c]) => `  ${k.padEnd(width)}  ${c.summary}`)
  return [
    'Usage: sluice <command> [options]',
    '       sluice --help | --version',
    '',
    'Commands:',
    ...lines,
    '',
    "'sluice <command> --help' describes one. Configuration comes from the environment (PORT,",
    'HOST, SLUICE_DATA_DIR, ...); see the README. Exit codes: 0 ok, 1 failed, 2 usage or',
    'configuration error.',
    '',
  ].join('\n')
}

function version(): string {
  const pkg = JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as {
    version: string
  }
  return pkg.version
}

/** Run `sluice <argv>`; resolves with the process exit code. */
export async function main(argv: string[]): Promise<number> {
  // Options before the command are sluice's own; everything after it belongs to the command.
  const { tokens } = parseArgs({ args: argv, strict: false, allowPositionals: true, tokens: true })
  const at = tokens.find((t) => t.kind === 'positional')?.index ?? argv.length
  let values: { help?: boolean; version?: boolean }
  try {
    values = parseArgs({
      args: argv.slice(0, at),
      options: { help: { type: 'boolean', short: 'h' }, version: { type: 'boolean' } },
      strict: true,
      allowPositionals: false,
    }).values
  } catch (err) {
    return usageError(GLOBAL, err)
  }
  let [name, ...rest] = argv.slice(at)
  if (values.version) {
    process.stdout.write(`${version()}\n`)
    return ExitCode.ok
  }
  if (values.help || (name === 'help' && rest[0] === undefined)) {
    process.stdout.write(usage())
    return ExitCode.ok
  }
  // `sluice help <command>` is `sluice <command> --help`.
  if (name === 'help') [name, rest] = [rest[0], ['--help']]
  if (name === undefined) {
    process.stderr.write(usage())
    return ExitCode.usage
  }
  const cmd = subcommands[name]
  if (!cmd) {
    process.stderr.write(`sluice: unknown command '${name}'\n\n${usage()}`)
    return ExitCode.usage
  }
  return (await cmd.load())(rest)
}
