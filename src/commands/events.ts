import { AdminCallError, adminClient, exitCodeOf } from './admin-client.js'
import { ExitCode, parseCommand, usageError, type CommandSpec } from './args.js'
import { commandConfig } from './config.js'

export const eventsListSpec: CommandSpec = {
  name: 'sluice events list',
  synopsis: '[--source S] [--type T] [--since ISO] [--until ISO] [--limit N] [--cursor C]',
  description:
    "Stored events, newest first, from the running engine's GET /v1/events: one JSON object per\n" +
    'line (source, id, type, receivedAt, processedAt, verifiedBy, contentType, bytes). When more\n' +
    'match, a last line {"nextCursor":"..."} gives the --cursor of the next page.',
  options: {
    source: { type: 'string', help: 'only this source' },
    type: { type: 'string', help: 'only this event type' },
    since: { type: 'string', help: 'received at or after (ISO 8601)' },
    until: { type: 'string', help: 'received before (ISO 8601)' },
    limit: { type: 'string', help: 'at most this many, 1-1000 (default 100)' },
    cursor: { type: 'string', help: 'continue where the previous page ended' },
  },
}

export const eventsShowSpec: CommandSpec = {
  name: 'sluice events show',
  synopsis: '--source S --id ID',
  description:
    'One stored event as JSON, with its headers, its payload and its body: as text when it is\n' +
    'UTF-8 (bodyText), always as base64 of the exact bytes (body). Exit code 1 when there is\n' +
    'no such event.',
  options: {
    source: { type: 'string', help: 'the source (default: default)' },
    id: { type: 'string', help: 'the event id' },
  },
}

const EVENTS = { name: 'sluice events', synopsis: 'list|show [options]' }

/** `sluice events list|show`: resolves with the exit code. */
export async function eventsCommand(args: string[]): Promise<number> {
  const [action, ...rest] = args
  if (action !== 'list' && action !== 'show') {
    if (action === '--help' || action === '-h') {
      process.stdout.write(
        'Usage: sluice events list|show [options]; see sluice events list --help\n',
      )
      return ExitCode.ok
    }
    return usageError(EVENTS, new Error(action ? `unknown action '${action}'` : 'missing action'))
  }
  const spec = action === 'list' ? eventsListSpec : eventsShowSpec
  const parsed = parseCommand(spec, rest)
  if (!parsed.ok) return parsed.exitCode
  const v = parsed.values as Record<string, string | undefined>
  if (action === 'show' && !v.id) return usageError(spec, new Error('--id is required'))
  const config = commandConfig()
  if (!config) return ExitCode.usage
  const client = adminClient(config)
  const out = (line: unknown) => process.stdout.write(`${JSON.stringify(line)}\n`)
  try {
    if (action === 'show') {
      const event = await client.getEvent(v.source ?? 'default', v.id!)
      const bytes = Buffer.from(event.body, 'base64')
      const text = new TextDecoder('utf-8', { fatal: true })
      let bodyText: string | null = null
      try {
        bodyText = text.decode(bytes)
      } catch {
        // Binary body: base64 only.
      }
      out({ ...event, bodyText })
      return ExitCode.ok
    }
    const query = Object.fromEntries(
      Object.entries(v).filter((e): e is [string, string] => e[1] !== undefined),
    )
    const page = await client.listEvents(query)
    for (const e of page.data) out(e)
    if (page.nextCursor) out({ nextCursor: page.nextCursor })
    return ExitCode.ok
  } catch (err) {
    if (!(err instanceof AdminCallError)) throw err
    process.stderr.write(`${spec.name}: ${err.message}\n`)
    return exitCodeOf(err)
  }
}
