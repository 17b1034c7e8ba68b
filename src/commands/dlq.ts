import { redriveDeadLetters } from '../consumer/redrive.js'
import { deadLetterItem, listDeadLetters } from '../db/dead-letters.js'
import type { EventKey } from '../event.js'
import { ExitCode, parseCommand, usageError, type CommandSpec } from './args.js'
import { commandConfig } from './config.js'
import { withCommandDatabase } from './database.js'
import { inProcessStore } from './in-process-store.js'

const select = {
  id: { type: 'string', help: 'only the dead letters of this event id' },
  source: { type: 'string', help: 'only the dead letters of this source' },
} as const

export const dlqListSpec: CommandSpec = {
  name: 'sluice dlq list',
  synopsis: '[--limit N] [--id ID] [--source NAME]',
  description:
    'Print the dead-lettered events (the Postgres table dead_letters), most recently failed\n' +
    'first, one JSON object per line: source, id, reason, attempts, lastError, firstFailedAt,\n' +
    'lastFailedAt, receivedAt, contentType, bytes. Nothing is printed when there are none.',
  options: { limit: { type: 'string', help: 'at most this many (default 100)' }, ...select },
}

export const dlqRedriveSpec: CommandSpec = {
  name: 'sluice dlq redrive',
  synopsis: '[--id ID] [--source NAME]',
  description:
    'Process dead letters again (all, or those selected) and remove each one that is stored;\n' +
    'one that fails again stays, with one more attempt. Prints one JSON line\n' +
    '{"redriven":N,"failed":M}. Exit code 1 when any failed again or nothing matched --id.',
  options: select,
}

const DLQ = { name: 'sluice dlq', synopsis: 'list|redrive [options]' }

/** `sluice dlq list|redrive`: resolves with the exit code. */
export async function dlqCommand(args: string[]): Promise<number> {
  const [action, ...rest] = args
  if (action !== 'list' && action !== 'redrive') {
    if (action === '--help' || action === '-h') {
      process.stdout.write(`Usage: sluice dlq list|redrive [options]; see sluice dlq list --help\n`)
      return ExitCode.ok
    }
    return usageError(DLQ, new Error(action ? `unknown action '${action}'` : 'missing action'))
  }
  const spec = action === 'list' ? dlqListSpec : dlqRedriveSpec
  const parsed = parseCommand(spec, rest)
  if (!parsed.ok) return parsed.exitCode
  const { id, source, limit } = parsed.values as Record<string, string | undefined>
  const max = limit === undefined ? 100 : Number(limit)
  if (!Number.isInteger(max) || max < 1 || max > 100_000) {
    return usageError(spec, new Error('--limit must be an integer from 1 to 100000'))
  }
  const config = commandConfig()
  if (!config) return ExitCode.usage
  const keys: Partial<EventKey>[] | undefined =
    id !== undefined || source !== undefined
      ? [{ ...(id !== undefined ? { id } : {}), ...(source !== undefined ? { source } : {}) }]
      : undefined
  const out = (line: unknown) => process.stdout.write(`${JSON.stringify(line)}\n`)
  try {
    return await withCommandDatabase(config, spec.name, async (pool) => {
      if (action === 'list') {
        const letters = await listDeadLetters(pool, { limit: max, ...(keys ? { keys } : {}) })
        letters.forEach((l) => out(deadLetterItem(l)))
        return ExitCode.ok
      }
      const result = await redriveDeadLetters(pool, inProcessStore(pool), keys)
      out(result)
      const nothing = id !== undefined && result.redriven + result.failed === 0
      return nothing || result.failed > 0 ? ExitCode.failure : ExitCode.ok
    })
  } catch (err) {
    process.stderr.write(`${spec.name}: ${(err as Error).message}\n`)
    return ExitCode.failure
  }
}
