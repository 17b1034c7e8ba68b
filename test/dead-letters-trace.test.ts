import t from 'tap'
import { listDeadLetters, writeDeadLetters } from '../src/db/dead-letters.js'
import { redriveDeadLetters } from '../src/consumer/redrive.js'
import type { WebhookEvent } from '../src/event.js'
import { storingDatabase } from './helpers/pg.js'
import { failOnLeaks } from './helpers/leaks.js'

// A dead letter keeps the traceparent its event carried, so a redrive stores the event in the
// trace it was received in (and its deliveries continue it), as the consumer would have.
const TRACE = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'

const event = (id: string, traceparent?: string): WebhookEvent => ({
  id,
  source: 'default',
  receivedAt: Date.now(),
  contentType: 'application/json',
  headers: {},
  body: Buffer.from(JSON.stringify({ type: 'poison', id })),
  verifiedBy: null,
  ...(traceparent === undefined ? {} : { traceparent }),
})

const letter = (e: WebhookEvent) => ({
  event: e,
  reason: 'attempts_exhausted' as const,
  attempts: 5,
  error: 'it failed',
})

t.test('a redriven dead letter is stored with the traceparent it was received with', async (t) => {
  const { pool, workers } = await storingDatabase(t, 'sluice_dl_trace', 1)

  await writeDeadLetters(pool, [
    letter(event('traced', TRACE)),
    letter(event('untraced')),
    letter(event('garbled', 'not-a-traceparent')),
  ])
  // Written again (the ack was lost) by a consumer that had no traceparent: the first one stays.
  await writeDeadLetters(pool, [letter(event('traced'))])

  const listed = new Map((await listDeadLetters(pool)).map((l) => [l.event.id, l.event]))
  t.equal(listed.get('traced')?.traceparent, TRACE, 'kept, and kept through a rewrite')
  t.notOk('traceparent' in listed.get('untraced')!, 'none kept: the event has none')
  t.notOk('traceparent' in listed.get('garbled')!, 'an invalid one is not kept')

  t.same(await redriveDeadLetters(pool, workers), { redriven: 3, failed: 0 })
  const { rows } = await pool.query<{ id: string; traceparent: string | null }>(
    // Source default only: each dead letter also made a dead_letter.created event of Sluice's own.
    "SELECT id, traceparent FROM events WHERE source = 'default' ORDER BY id",
  )
  t.same(rows, [
    { id: 'garbled', traceparent: null },
    { id: 'traced', traceparent: TRACE },
    { id: 'untraced', traceparent: null },
  ])
})

failOnLeaks(t)
