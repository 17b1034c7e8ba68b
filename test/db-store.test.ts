import t from 'tap'
import pg from 'pg'
import { randomBytes } from 'node:crypto'
import { migrate } from '../src/db/migrate.js'
import { Maintenance } from '../src/db/maintenance.js'
import type { StorableEvent } from '../src/event.js'
import { storeBatch } from '../workers/insert.js'
import { usePreparedStatements } from '../src/db/prepared.js'
import { detectType, parseBody } from '../workers/parse.js'
import { nestedDeeperThan } from '../src/util/json-depth.js'
import { decodeEnvelope, encodeEnvelope } from '../src/brokers/envelope/codec.js'
import { freshDatabase } from './helpers/pg.js'
import { failOnLeaks } from './helpers/leaks.js'

// A row of `events` as pg returns it: timestamptz as Date, bytea as Buffer, jsonb parsed.
interface EventRow {
  id: string
  source: string
  type: string | null
  received_at: Date
  processed_at: Date
  content_type: string | null
  headers: unknown
  body: Buffer
  payload: unknown
  verified_by: string | null
  traceparent: string | null
}

let seq = 0
function event(over: Partial<StorableEvent> & { json?: unknown }): StorableEvent {
  const { json, ...rest } = over
  return {
    id: `e-${++seq}`,
    source: 'default',
    receivedAt: Date.now(),
    contentType: 'application/json',
    headers: {},
    body: Buffer.from(json === undefined ? '{}' : JSON.stringify(json)),
    verifiedBy: null,
    ...rest,
  }
}

t.test('parseBody', async (t) => {
  const p = (s: string | Buffer, ct = 'application/json') =>
    parseBody(typeof s === 'string' ? Buffer.from(s) : s, ct).value
  t.same(p('{"a":1}'), { a: 1 })
  t.same(p(' [1,2]'), [1, 2])
  t.equal(p('42', 'text/plain'), 42, 'a top-level scalar is JSON too')
  t.equal(p('"x"'), 'x')
  t.equal(p('null'), null)
  t.equal(parseBody(Buffer.from('null'), 'application/json').json, 'null')
  t.equal(parseBody(Buffer.from('{"a":'), 'application/json').json, null, 'malformed')
  t.equal(parseBody(Buffer.from('a=1&b=2'), 'application/json').json, null, 'not JSON text')
  t.equal(
    parseBody(Buffer.from('123'), 'application/x-www-form-urlencoded').json,
    null,
    'forms are never JSON',
  )
  t.equal(parseBody(Buffer.from([0x22, 0xff, 0x22]), '').json, null, 'invalid UTF-8')
  t.equal(parseBody(new Uint8Array(Buffer.from('{"u":1}')), '').json, '{"u":1}', 'Uint8Array')
})

t.test('detectType for each provider', async (t) => {
  t.equal(detectType({ 'x-github-event': 'push' }, 'github', { type: 'no' }), 'push')
  t.equal(detectType({}, 'stripe', { type: 'charge.succeeded' }), 'charge.succeeded')
  t.equal(
    detectType({ 'stripe-signature': 't=1,v1=x', 'x-event-type': 'h' }, null, { type: 'in' }),
    'in',
    'Stripe body type beats X-Event-Type',
  )
  t.equal(detectType({ 'x-shopify-topic': 'orders/create' }, 'shopify', {}), 'orders/create')
  t.equal(
    detectType({ 'webhook-id': 'msg_1', 'x-event-type': 'hdr' }, null, { type: 'user.created' }),
    'user.created',
    'Standard Webhooks body type',
  )
  t.equal(detectType({}, 'standard-webhooks', { type: 'invoice.paid' }), 'invoice.paid')
  t.equal(detectType({ 'x-event-type': 'order.shipped' }, null, { type: 'body' }), 'order.shipped')
  t.equal(detectType({}, null, { type: 'top.level' }), 'top.level')
  t.equal(detectType({}, null, [{ type: 'in-array' }]), null, 'arrays have no top-level type')
  t.equal(detectType({}, null, { type: 7 }), null, 'only string types')
  t.equal(detectType({}, null, undefined), null)
})

// Twice: as sent by a pool of the embedded database (plain statements) and by one of an external
// Postgres (named statements, batches padded to a power of two: src/db/prepared.ts).
for (const named of [false, true])
  t.test(`stored rows${named ? ', named statements' : ''}`, async (t) => {
    const db = await freshDatabase(named ? 'sluice_store_named' : 'sluice_store')
    const pool = new pg.Pool({ connectionString: db.url, max: 2 })
    if (named) usePreparedStatements(pool)
    t.teardown(async () => {
      await pool.end()
      await db.drop()
    })
    await migrate(pool)
    await new Maintenance({ pool }).runOnce()
    const row = async (e: StorableEvent) =>
      (
        await pool.query<EventRow>('SELECT * FROM events WHERE source = $1 AND id = $2', [
          e.source,
          e.id,
        ])
      ).rows[0]!

    t.test('type column for each provider', async (t) => {
      const cases: [StorableEvent, string | null][] = [
        [event({ headers: { 'x-github-event': 'push' }, verifiedBy: 'github' }), 'push'],
        [
          event({ json: { id: 'evt_1', type: 'charge.succeeded' }, verifiedBy: 'stripe' }),
          'charge.succeeded',
        ],
        [event({ headers: { 'x-shopify-topic': 'orders/create' } }), 'orders/create'],
        [
          event({ json: { type: 'user.created' }, headers: { 'webhook-id': 'm1' } }),
          'user.created',
        ],
        [event({ headers: { 'x-event-type': 'order.shipped' } }), 'order.shipped'],
        [event({ json: { type: 'plain' } }), 'plain'],
        [event({ json: { kind: 'none' } }), null],
        // The body's type is read by Postgres from the payload: the same rules as detectType.
        [
          event({
            json: { id: 'evt_2' },
            headers: { 'x-event-type': 'after' },
            verifiedBy: 'stripe',
          }),
          'after',
        ],
        [event({ json: { type: 'in' }, headers: { 'x-event-type': 'hdr' } }), 'hdr'],
        [event({ json: { x: 1 }, headers: { 'svix-id': 'm2', 'x-event-type': 'sw' } }), 'sw'],
        [event({ json: { type: 7 } }), null],
        [event({ json: { type: '' } }), null],
        [event({ json: [{ type: 'in-array' }] }), null],
        [event({ json: { type: 'ü "q"' } }), 'ü "q"'],
        [event({ body: Buffer.from('"type"') }), null],
      ]
      const r = await storeBatch(
        pool,
        cases.map(([e]) => e),
      )
      t.ok(r.every((x) => x.ok && x.inserted))
      for (const [e, type] of cases) t.equal((await row(e)).type, type, String(type))
    })

    t.test('exact body bytes, headers, payload and timestamps round trip', async (t) => {
      const binary = randomBytes(4096)
      const bin = event({ body: new Uint8Array(binary), contentType: 'application/octet-stream' })
      const form = event({
        body: Buffer.from('a=1&b=%20'),
        contentType: 'application/x-www-form-urlencoded',
      })
      const json = event({
        json: { hello: 'wörld', n: [1, 2] },
        headers: { 'x-a': 'b' },
        verifiedBy: 'hmac',
      })
      const scalar = event({ body: Buffer.from('42') })
      const before = Date.now()
      const r = await storeBatch(pool, [bin, form, json, scalar])
      t.ok(r.every((x) => x.ok && x.inserted && x.processedAt >= before))
      const b = await row(bin)
      t.ok(Buffer.compare(b.body, binary) === 0, 'binary body byte for byte')
      t.equal(b.payload, null)
      t.equal(b.content_type, 'application/octet-stream')
      t.equal(new Date(b.received_at).getTime(), bin.receivedAt)
      t.ok(new Date(b.processed_at).getTime() >= bin.receivedAt, 'processed_at recorded')
      t.equal((await row(form)).payload, null, 'form body is not JSON')
      t.equal((await row(form)).body.toString(), 'a=1&b=%20')
      const j = await row(json)
      t.same(j.payload, { hello: 'wörld', n: [1, 2] })
      t.same(j.headers, { 'x-a': 'b' })
      t.equal(j.verified_by, 'hmac')
      t.equal((await row(scalar)).payload, 42)
    })

    t.test('only a valid traceparent is stored, in its version-00 form', async (t) => {
      const trace = '4bf92f3577b34da6a3ce929d0e0e4736'
      const span = '00f067aa0ba902b7'
      const valid = `00-${trace}-${span}-01`
      const bad = ['not a traceparent', `00-${'0'.repeat(32)}-${span}-01`, 'x'.repeat(1_000_000)]
      // As a node with tracing off passes them on: decoded from an envelope, never checked.
      const events = decodeEnvelope(
        encodeEnvelope(
          [valid, `01-${trace}-${span}-01-${'f'.repeat(1000)}`, ...bad].map((traceparent) => ({
            ...event({}),
            body: Buffer.from('{}'),
            traceparent,
          })),
        ),
      )
      const none = event({})
      const r = await storeBatch(pool, [...events, none])
      t.ok(
        r.every((x) => x.ok && x.inserted),
        'every event is stored',
      )
      const stored = await Promise.all(
        [...events, none].map(async (e) => (await row(e)).traceparent),
      )
      t.same(stored, [valid, valid, null, null, null, null], 'malformed or absent: null')
    })

    t.test('a poison event fails alone; the rest of its batch is stored', async (t) => {
      const good1 = event({})
      const poison = event({ id: 'bad\u0000id' })
      const good2 = event({})
      const r = await storeBatch(pool, [good1, poison, good2])
      t.match(r[0], { ok: true, inserted: true })
      t.match(r[1], { ok: false, permanent: true, error: /22021/ })
      t.match(r[2], { ok: true, inserted: true })
      t.ok(await row(good1))
      t.ok(await row(good2))
    })

    t.test('an event that cannot become a row fails alone', async (t) => {
      const ok = event({})
      const r = await storeBatch(pool, [event({ receivedAt: Number.NaN }), ok])
      t.match(r[0], { ok: false, permanent: true, error: /invalid event/ })
      t.match(r[1], { ok: true, inserted: true })
    })

    t.test('JSON that jsonb refuses is stored with a null payload, bytes intact', async (t) => {
      const text = '{"s":"nul \\u0000 here"}'
      const e = event({ body: Buffer.from(text) })
      const r = await storeBatch(pool, [e, event({})])
      t.ok(r.every((x) => x.ok && x.inserted))
      const stored = await row(e)
      t.equal(stored.payload, null)
      t.equal(stored.body.toString(), text)
    })

    t.test('JSON nested deeper than 3,000 levels is stored with a null payload', async (t) => {
      // JSON.parse takes 100,000 levels, so the type is the body's; jsonb does not (Postgres
      // refuses it, the embedded database misbehaves: workers/insert.ts MAX_JSONB_DEPTH).
      const deep = (n: number) => '['.repeat(n) + ']'.repeat(n)
      const text = `{"type":"deep.kind","a":${deep(100_000)}}`
      const e = event({ body: Buffer.from(text) })
      const shallow = event({ body: Buffer.from(`{"a":${deep(2_999)}}`) })
      const r = await storeBatch(pool, [e, shallow, event({})])
      t.ok(r.every((x) => x.ok && x.inserted))
      const stored = await row(e)
      t.equal(stored.payload, null)
      t.equal(stored.type, 'deep.kind')
      t.equal(stored.body.toString(), text, 'bytes intact')
      t.ok((await row(shallow)).payload, '3,000 levels keep their payload')
    })

    t.test('nestedDeeperThan counts brackets outside strings only', async (t) => {
      const deeper = (text: string, max: number) => nestedDeeperThan(Buffer.from(text), max)
      t.ok(deeper('[[[[[[[[]]]]]]]]', 3))
      t.notOk(deeper('[[[]]]          ', 3), 'exactly the limit')
      t.notOk(deeper('["[[[[[[[[[[[[[["]', 3), 'brackets in a string')
      t.notOk(deeper('["\\"[[[[[[[[[[[["]', 3), 'after an escaped quote, still the string')
      t.ok(
        deeper('["\\\\",[[[[[[[[]]]]]]]]]', 3),
        'a quote after an escaped backslash ends the string',
      )
      t.notOk(deeper('"[[[[[[[[[[', 3), 'an unclosed string (malformed) answers false')
      t.ok(deeper('{"a":{"b":{"c":{"d":1}}}}', 3), 'objects count too')
    })

    t.test(
      'a body that only looks like JSON costs no other event its payload or type',
      async (t) => {
        const bad = event({ body: Buffer.from('{"type":"x",'), headers: { 'x-event-type': 'hdr' } })
        const nul = event({ body: Buffer.from('{"type":"kept","s":"\\u0000"}') })
        const good = event({ json: { type: 'body.type' } })
        const r = await storeBatch(pool, [bad, nul, good])
        t.ok(r.every((x) => x.ok && x.inserted))
        const b = await row(bad)
        t.equal(b.payload, null)
        t.equal(b.type, 'hdr')
        t.equal(b.body.toString(), '{"type":"x",')
        const n = await row(nul)
        t.equal(n.payload, null, 'jsonb refuses \\u0000')
        t.equal(n.type, 'kept', 'JSON.parse still finds its type')
        const g = await row(good)
        t.same(g.payload, { type: 'body.type' })
        t.equal(g.type, 'body.type')
      },
    )

    t.test(
      'after an error not of its data, an event is not stored without its payload',
      async (t) => {
        // Raises for the batch, the batch again and the row alone: a failure a later attempt
        // clears (a trigger, a lock timeout). Without the payload the event would lose its
        // ordering key and filters, so it fails this attempt instead.
        await pool.query(`CREATE SEQUENCE held_thrice;
      CREATE FUNCTION hold_thrice() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.id = 'held' AND nextval('held_thrice') <= 3 THEN RAISE EXCEPTION 'held'; END IF;
        RETURN NEW;
      END $$;
      CREATE TRIGGER hold_thrice BEFORE INSERT ON events FOR EACH ROW EXECUTE FUNCTION hold_thrice();`)
        t.teardown(() => pool.query('DROP TRIGGER hold_thrice ON events'))
        const held = event({ id: 'held', json: { customer: 'c1' } })
        const other = event({})
        const first = await storeBatch(pool, [held, other])
        t.match(first[0], { ok: false, permanent: false, error: /^P0001/ })
        t.match(first[1], { ok: true, inserted: true })
        t.notOk(await row(held), 'not stored')
        t.match(await storeBatch(pool, [held]), [{ ok: true, inserted: true }])
        t.same((await row(held)).payload, { customer: 'c1' }, 'stored with its payload later')
      },
    )

    t.test('an event the database answered for without storing it is not acked', async (t) => {
      // A statement that returns fewer rows and no error (the embedded database did, on a body
      // nested 30,000 levels): the event must fail this attempt, not count as stored already.
      await pool.query(`CREATE FUNCTION vanish() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.id = 'vanishes' THEN RETURN NULL; END IF;
        RETURN NEW;
      END $$;
      CREATE TRIGGER vanish BEFORE INSERT ON event_keys FOR EACH ROW EXECUTE FUNCTION vanish();`)
      const gone = event({ id: 'vanishes' })
      const other = event({})
      const stored = event({})
      t.match(await storeBatch(pool, [stored]), [{ ok: true, inserted: true }])
      const r = await storeBatch(pool, [gone, other, stored])
      t.match(r[0], { ok: false, permanent: false, error: /without storing/ })
      t.match(r[1], { ok: true, inserted: true })
      t.match(r[2], { ok: true, inserted: false }, 'a redelivery is still stored already')
      await pool.query('DROP TRIGGER vanish ON event_keys')
      t.match(await storeBatch(pool, [gone]), [{ ok: true, inserted: true }], 'a later attempt')
      t.ok(await row(gone))
      // Postgres holds it as U+FFFD, so the key it returns is not the engine's own string.
      const lone = event({ id: 'lone-\ud800' })
      t.match(await storeBatch(pool, [lone]), [{ ok: true }], 'a lone surrogate is not failed')
      t.ok(await row(event({ id: 'lone-\ufffd' })), 'stored under its UTF-8 form')
    })

    t.test(
      'a batch larger than one statement (1,000 rows) is split, still one row per key',
      async (t) => {
        const big = Array.from({ length: 8000 }, (_, i) => event({ id: `big-${i % 7500}` }))
        const r = await storeBatch(pool, big)
        t.equal(r.filter((x) => x.ok && x.inserted).length, 7500)
        t.equal(r.filter((x) => x.ok && !x.inserted).length, 500)
        const { rows } = await pool.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM events WHERE id LIKE 'big-%'`,
        )
        t.equal(rows[0]!.n, 7500)
      },
    )
  })

failOnLeaks(t)
