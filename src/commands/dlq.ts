import type { Broker, DeadLetter } from '../brokers/types.js'

export interface DlqIo {
  out: (line: string) => void
}

/** `sluice dlq list`: one JSON line per dead letter (event id, source, attempts, last error). */
export async function dlqList(broker: Broker, io: DlqIo, limit = 100): Promise<number> {
  const letters = await broker.deadLetters.list(limit)
  for (const letter of letters) io.out(JSON.stringify(describe(letter)))
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
