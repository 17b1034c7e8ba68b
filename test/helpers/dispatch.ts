import { randomBytes } from 'node:crypto'
import type { Test } from 'tap'
import { Dispatcher } from '../../src/dispatcher/dispatcher.js'
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http'
import pg from 'pg'
import type { SubscriptionInput } from '../../src/api/subscription-input.js'
import { migrate } from '../../src/db/migrate.js'
import { upsertSubscription } from '../../src/db/subscriptions.js'
import type { StorableEvent } from '../../src/event.js'
import { SecretBox } from '../../src/util/secret-box.js'
import { generateSecret } from '../../src/outbound/sign.js'
import { parseAllowList } from '../../src/outbound/ssrf.js'
import { storeBatch } from '../../workers/insert.js'
import { freshDatabase } from './pg.js'
import { httpReceiver, type Listener } from './receivers.js'

/** Loopback receivers are what the dispatcher tests deliver to. */
export const LOOPBACK = { allow: parseAllowList('127.0.0.0/8') }

export type DispatcherOptions = ConstructorParameters<typeof Dispatcher>[0]

/**
 * A dispatcher on the test's database, delivering to loopback with a short schedule (1 s
 * between attempts) and a 10 s deadline unless `extra` says otherwise; closed by the teardown.
 * The deadline is far above a loopback answer, so a stalled test process does not turn an answer
 * into a timeout and an extra attempt; tests of the deadline set a short one.
 */
export function testDispatcher(t: Test, db: DispatchDb, extra: Partial<DispatcherOptions> = {}) {
  const d = new Dispatcher({
    pool: db.pool,
    box: db.box,
    listen: db.url,
    policy: LOOPBACK,
    schedule: [1, 1, 1],
    timeoutMs: 10_000,
    ...extra,
  })
  t.teardown(() => d.close())
  return d
}

export interface DispatchDb {
  url: string
  pool: pg.Pool
  box: SecretBox
  drop(): Promise<void>
  subscribe(input: SubscriptionInput): Promise<{ id: string; secret: string }>
  /** Store events the way the workers do: their deliveries are made in the same statement. */
  store(events: Partial<StorableEvent>[]): Promise<void>
}

export async function dispatchDb(prefix: string): Promise<DispatchDb> {
  const db = await freshDatabase(prefix)
  const pool = new pg.Pool({ connectionString: db.url, max: 6 })
  await migrate(pool)
  const box = new SecretBox(randomBytes(32))
  return {
    url: db.url,
    pool,
    box,
    async drop() {
      await pool.end()
      await db.drop()
    },
    async subscribe(input) {
      const { subscription } = await upsertSubscription(pool, box, input, generateSecret)
      return { id: subscription.id, secret: subscription.secret! }
    },
    async store(events) {
      const full = events.map((e, i) => ({
        id: `ev-${i}`,
        source: 'default',
        receivedAt: Date.now(),
        contentType: 'application/json',
        headers: {},
        body: Buffer.from('{}'),
        verifiedBy: null,
        ...e,
      }))
      const results = await storeBatch(pool, full)
      if (!results.every((r) => r.ok)) throw new Error(`store failed: ${JSON.stringify(results)}`)
    },
  }
}

export interface Received {
  headers: IncomingHttpHeaders
  body: Buffer
  url: string
  at: number
}

export interface Receiver extends Listener {
  received: Received[]
  url(path?: string): string
}

/**
 * An HTTP receiver that records every request it gets (once the body is read) and answers with
 * `answer` (default 200). `answer` may also hang or delay: it gets the raw response.
 */
export async function receiver(
  answer: (r: Received, res: ServerResponse, req: IncomingMessage) => void = (_r, res) =>
    void res.end('ok'),
): Promise<Receiver> {
  const received: Received[] = []
  const listener = await httpReceiver((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const r = {
        headers: req.headers,
        body: Buffer.concat(chunks),
        url: req.url ?? '',
        at: Date.now(),
      }
      received.push(r)
      answer(r, res, req)
    })
  })
  return { ...listener, received, url: (path = '/hook') => `${listener.origin}${path}` }
}
