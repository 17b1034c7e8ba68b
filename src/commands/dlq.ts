import type { Broker, DeadLetter } from '../brokers/types.js'
import type { FailureRecord } from '../db/failures.js'

/** Failed attempts recorded in Postgres by the consumer, looked up by (source, id). */
export type FailureLookup = (keys: { source: string; id: string }[]) => Promise<FailureRecord[]>

export interface DlqIo {
  out: (line: string) => void
}

/**
 * `sluice dlq list`: one JSON line per dead letter (event id, source, attempts, last error).
 * With a database, the errors the consumer recorded are shown too: they explain letters that
 * the broker moved by itself (SQS redrive policy), which carry no error of their own.
 */
export async function dlqList(
  broker: Broker,
  io: DlqIo,
  limit = 100,
  lookup?: FailureLookup,
): Promise<number> {
  const letters = await broker.deadLetters.list(limit)
  const records = lookup ? await lookup(letters.map((l) => l.event)) : []
  const byKey = new Map(records.map((r) => [`${r.source}\u0000${r.id}`, r]))
  for (const letter of letters) {
    const record = byKey.get(`${letter.event.source}\u0000${letter.event.id}`)
    io.out(
      JSON.stringify({
        ...describe(letter),
        ...(record ? { recordedFailures: record.attempts, recordedError: record.lastError } : {}),
      }),
    )
  }
  if (letters.length === 0) io.out('no dead-lettered events')
  return 0
}

/** `sluice dlq redrive [--id ID]`: send dead letters back to the main queue. */
export async function dlqRedrive(broker: Broker, io: DlqIo, id?: string): Promise<number> {
  const moved = await broker.deadLetters.redrive(id)
  io.out(`redrove ${moved} event${moved === 1 ? '' : 's'}${id ? ` with id ${id}` : ''}`)
  return id && moved === 0 ? 1 : 0
}

function describe(letter: DeadLetter) {
  const { event } = letter
  return {
    id: event.id,
    source: event.source,
    receivedAt: new Date(event.receivedAt).toISOString(),
    attempts: letter.attempts,
    lastError: letter.lastError,
    deadAt: letter.deadAt === null ? null : new Date(letter.deadAt).toISOString(),
    contentType: event.contentType,
    bytes: event.body.length,
  }
}

/** Parse `[--id ID]` / `--id=ID`; throws on anything else. */
export function parseRedriveArgs(args: string[]): { id?: string } {
  const result: { id?: string } = {}
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string
    if (arg === '--id') {
      const value = args[++i]
      if (!value) throw new TypeError('--id needs an event id')
      result.id = value
    } else if (arg.startsWith('--id=')) {
      result.id = arg.slice(5)
    } else {
      throw new TypeError(`unknown argument ${arg}; usage: sluice dlq redrive [--id ID]`)
    }
  }
  return result
}
