import { resolve } from 'node:path'
import { redriveDeadLetters } from '../consumer/redrive.js'
import { deadLetterItem, listDeadLetters } from '../db/dead-letters.js'
import { ENGINE_HOLDER, readHolder } from '../data-dir-lock.js'
import type { EventKey } from '../event.js'
import type { DeadLetter, SluiceClient } from '../client/index.js'
import { AdminCallError, adminClient, exitCodeOf, unreachable } from './admin-client.js'
import type { Config } from '../config.js'
import { ExitCode, parseCommand, usageError, type CommandSpec } from './args.js'
import { commandConfig } from './config.js'
import { withCommandDatabase } from './database.js'
import { inProcessStore } from './in-process-store.js'

const select = {
  id: { type: 'string', help: 'only the dead letters of this event id' },
  source: { type: 'string', help: 'only the dead letters of this source' },
} as const

const WHERE =
  'While an engine runs on SLUICE_DATA_DIR, this goes through its admin API (GET\n' +
  '/v1/dead-letters, POST /v1/dead-letters/retry; SLUICE_ADMIN_HOST:SLUICE_ADMIN_PORT, token\n' +
  'from SLUICE_ADMIN_TOKEN or SLUICE_DATA_DIR/admin-token). Only when no engine runs there does\n' +
  'it open the database (DATABASE_URL, or the embedded one of SLUICE_DATA_DIR) itself.'

export const dlqListSpec: CommandSpec = {
  name: 'sluice dlq list',
  synopsis: '[--limit N] [--id ID] [--source NAME]',
  description:
    'Print the dead-lettered events (the Postgres table dead_letters), most recently failed\n' +
    'first, one JSON object per line: source, id, reason, attempts, lastError, firstFailedAt,\n' +
    'lastFailedAt, receivedAt, contentType, bytes. Nothing is printed when there are none.\n' +
    WHERE,
  options: { limit: { type: 'string', help: 'at most this many (default 100)' }, ...select },
}

const retryText = (verb: string, result: string) =>
  'Process dead letters again (all, or those selected) and remove each one that is stored;\n' +
  `one that fails again stays, with one more attempt. Prints one JSON line\n` +
  `{"${result}":N,"failed":M}. Exit code 1 when any failed again or nothing matched --id.\n` +
  `${verb}${WHERE}`

export const dlqRetrySpec: CommandSpec = {
  name: 'sluice dlq retry',
  synopsis: '[--id ID] [--source NAME]',
  description: retryText('', 'retried'),
  options: select,
}

export const dlqRedriveSpec: CommandSpec = {
  name: 'sluice dlq redrive',
  synopsis: '[--id ID] [--source NAME]',
  description: retryText('The former name of `sluice dlq retry`, kept as its alias.\n', 'redriven'),
  options: select,
}

const SPECS: Record<string, CommandSpec> = {
  list: dlqListSpec,
  retry: dlqRetrySpec,
  redrive: dlqRedriveSpec,
}
const DLQ = { name: 'sluice dlq', synopsis: 'list|redrive|retry [options]' }

interface Selection {
  id: string | undefined
  source: string | undefined
  max: number
}

/** `sluice dlq list|retry|redrive`: resolves with the exit code. */
export async function dlqCommand(args: string[]): Promise<number> {
  const [action, ...rest] = args
  const spec = action ? SPECS[action] : undefined
  if (!spec) {
    if (action === '--help' || action === '-h') {
      process.stdout.write(`Usage: sluice dlq list|retry [options]; see sluice dlq list --help\n`)
      return ExitCode.ok
    }
    return usageError(DLQ, new Error(action ? `unknown action '${action}'` : 'missing action'))
  }
  const parsed = parseCommand(spec, rest)
  if (!parsed.ok) return parsed.exitCode
  const { id, source, limit } = parsed.values as Record<string, string | undefined>
  const max = limit === undefined ? 100 : Number(limit)
  if (!Number.isInteger(max) || max < 1 || max > 100_000) {
    return usageError(spec, new Error('--limit must be an integer from 1 to 100000'))
  }
  const config = commandConfig()
  if (!config) return ExitCode.usage
  const sel: Selection = { id, source, max }
  const counted = action === 'redrive' ? 'redriven' : 'retried'
  const out = (line: unknown) => process.stdout.write(`${JSON.stringify(line)}\n`)
  const finish = (r: { count: number; failed: number }) => {
    out({ [counted]: r.count, failed: r.failed })
    const nothing = id !== undefined && r.count + r.failed === 0
    return nothing || r.failed > 0 ? ExitCode.failure : ExitCode.ok
  }
  const engine = engineHolding(config.SLUICE_DATA_DIR)
  if (engine !== null) {
    const viaApi = await throughEngine(config, engine, spec.name, async (client) => {
      if (action === 'list') (await matching(client, sel)).forEach(out)
      else return finish(await retryThrough(client, sel))
      return ExitCode.ok
    })
    if (viaApi !== USE_DATABASE) return viaApi
  }
  // No engine: the database itself (with DATABASE_URL also when the engine's API is not usable).
  const keys: Partial<EventKey>[] | undefined =
    id !== undefined || source !== undefined
      ? [{ ...(id !== undefined ? { id } : {}), ...(source !== undefined ? { source } : {}) }]
      : undefined
  try {
    return await withCommandDatabase(config, spec.name, async (pool) => {
      if (action === 'list') {
        const letters = await listDeadLetters(pool, { limit: max, ...(keys ? { keys } : {}) })
        letters.forEach((l) => out(deadLetterItem(l)))
        return ExitCode.ok
      }
      const result = await redriveDeadLetters(pool, inProcessStore(pool), keys)
      return finish({ count: result.redriven, failed: result.failed })
    })
  } catch (err) {
    process.stderr.write(`${spec.name}: ${(err as Error).message}\n`)
    return ExitCode.failure
  }
}

/**
 * The pid of the engine (`sluice start`) holding the data directory, from its lock.json, read
 * without taking the lock or creating anything (with DATABASE_URL the directory may not exist,
 * and taking the lock even for an instant could make a starting engine refuse); null when
 * none. The admin port alone would not say: another engine, of another data directory and
 * database, may answer on the default port.
 */
function engineHolding(dir: string): number | null {
  const holder = readHolder(resolve(dir)) // {} when missing, unreadable or its process is dead
  return holder.command === ENGINE_HOLDER && holder.pid !== undefined ? holder.pid : null
}

const USE_DATABASE = Symbol('use the database')
/** A retry of every dead letter is one call; give it time rather than guess it failed. */
const DLQ_TIMEOUT_MS = 10 * 60_000

/**
 * Run `work` through the admin API of the engine with this pid. When that API cannot be used
 * (no token, not answering, or another process answers on the admin port), the database is
 * the way only with DATABASE_URL: on embedded defaults the engine holds it. Once the engine
 * has been asked to act, a failure is reported, never retried on the database, since the
 * engine may still be at it.
 */
async function throughEngine(
  config: Config,
  pid: number,
  command: string,
  work: (client: SluiceClient) => Promise<number>,
): Promise<number | typeof USE_DATABASE> {
  const cannot = (why: string) => {
    const said = `${command}: the engine (pid ${pid}) holds SLUICE_DATA_DIR, but its admin API ${why}`
    process.stderr.write(
      config.DATABASE_URL ? `${said}; using DATABASE_URL instead\n` : `${said}\n`,
    )
    return config.DATABASE_URL ? USE_DATABASE : ExitCode.failure
  }
  let client: SluiceClient
  try {
    client = adminClient(config, DLQ_TIMEOUT_MS)
    const answered = (await client.status()).node.pid
    if (answered !== pid) {
      return cannot(
        `at SLUICE_ADMIN_HOST:SLUICE_ADMIN_PORT is another process's (pid ${answered}); set them to the engine's`,
      )
    }
  } catch (err) {
    return cannot(`cannot be used: ${(err as Error).message}`)
  }
  try {
    return await work(client)
  } catch (err) {
    if (!(err instanceof AdminCallError)) throw err
    const still = unreachable(err) ? '; the engine may still be at it: see sluice dlq list' : ''
    process.stderr.write(`${command}: ${err.message}${still}\n`)
    return exitCodeOf(err)
  }
}

/** The selected letters from the API, paging on (the API filters by source; --id here). */
async function matching(client: SluiceClient, sel: Selection): Promise<DeadLetter[]> {
  const found: DeadLetter[] = []
  let cursor: string | undefined
  do {
    const page = await client.listDeadLetters({
      ...(sel.source !== undefined ? { source: sel.source } : {}),
      limit: String(sel.id === undefined ? Math.min(1000, sel.max - found.length) : 1000),
      ...(cursor ? { cursor } : {}),
    })
    found.push(...page.data.filter((l) => sel.id === undefined || l.id === sel.id))
    cursor = page.nextCursor ?? undefined
  } while (cursor && found.length < sel.max)
  return found.slice(0, sel.max)
}

/** All (one call), or the selected ones named, at most 1000 a call. */
async function retryThrough(client: SluiceClient, sel: Selection) {
  if (sel.id === undefined && sel.source === undefined) return client.retryDeadLetters()
  const ids = (await matching(client, { ...sel, max: Infinity })).map(({ source, id }) => ({
    source,
    id,
  }))
  const total = { count: 0, failed: 0 }
  for (let i = 0; i < ids.length; i += 1000) {
    const r = await client.retryDeadLetters(ids.slice(i, i + 1000))
    total.count += r.count
    total.failed += r.failed
  }
  return total
}
