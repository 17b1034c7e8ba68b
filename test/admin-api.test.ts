import t, { type Test } from 'tap'
import { readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { failOnLeaks } from './helpers/leaks.js'
import { startAdminEngine } from './helpers/admin-engine.js'
import { post } from './helpers/post.js'
import { until } from './helpers/wait.js'

const TOKEN_A = 'token-a-0123456789abcdef'
const TOKEN_B = 'token-b-0123456789abcdef'

interface Page<T> {
  data: T[]
  nextCursor: string | null
}
interface Status {
  status: string
  checks: Record<string, unknown>
  totals: { received: number; stored: number }
  rates: { receivedPerSecond: number }
  deadLetters: number
  node: { pid: number }
}
interface Summary {
  source: string
  id: string
  type: string | null
  receivedAt: string
  bytes: number
}

async function engineWith(t: Test, env: Record<string, string>) {
  const e = await startAdminEngine(t, env, TOKEN_A)
  const get = (path: string, token: string | null = TOKEN_A) => e.call('GET', path, { token })
  return { ...e, get }
}

t.test('auth: missing, wrong and rotated tokens', async (t) => {
  const { get } = await engineWith(t, { SLUICE_ADMIN_TOKEN: `${TOKEN_A},${TOKEN_B}` })
  const none = await get('/v1/status', null)
  t.equal(none.status, 401, 'no token: 401')
  t.match(none.json, { status: 'error', error: 'unauthorized' })
  t.equal(none.headers.get('www-authenticate'), 'Bearer')
  t.equal((await get('/v1/status', 'token-c-0123456789abcdef')).status, 401, 'a wrong token: 401')
  t.equal((await get('/v1/status', TOKEN_A.slice(0, -1))).status, 401, 'a prefix is not the token')
  t.equal((await get('/v1/status', TOKEN_A)).status, 200, 'the first token works')
  t.equal((await get('/v1/status', TOKEN_B)).status, 200, 'the second (rotated-in) token works')
  t.equal((await get('/v1/events', null)).status, 401, 'every /v1 data route needs the token')
  t.equal((await get('/v1/openapi.json', null)).status, 200, 'the OpenAPI document is public')
  const page = await get('/', null)
  t.equal(page.status, 200, 'the page is served without a token (it holds no data)')
  t.match(page.headers.get('content-type'), /text\/html/)
})

t.test('without SLUICE_ADMIN_TOKEN a token file is created, 0600, and kept', async (t) => {
  const { dir, get } = await engineWith(t, {})
  const file = join(dir, 'admin-token')
  t.equal(statSync(file).mode & 0o777, 0o600, 'mode 0600')
  const token = readFileSync(file, 'utf8').trim()
  t.ok(token.length >= 32, 'a long random token')
  t.equal((await get('/v1/status', token)).status, 200, 'it opens the API')
  t.equal((await get('/v1/status', TOKEN_A)).status, 401, 'nothing else does')
})

t.test('routes, filters and pagination over 10,000 events', async (t) => {
  const { pool, get, webhook } = await engineWith(t, { SLUICE_ADMIN_TOKEN: TOKEN_A })
  // 10,000 rows over three days, three sources and four types, inserted as the workers do.
  await pool.query(`
    WITH g AS (
      SELECT n, (ARRAY['github','stripe','shop'])[1 + n % 3] AS source,
             (ARRAY['push','charge.succeeded','order.paid','ping'])[1 + n % 4] AS type,
             now() - interval '3 days' + n * interval '25 seconds' AS received_at
        FROM generate_series(1, 10000) n),
    k AS (INSERT INTO event_keys (source, id, received_at)
          SELECT source, 'bulk-' || n, received_at FROM g)
    INSERT INTO events (id, source, type, received_at, content_type, headers, body)
    SELECT 'bulk-' || n, source, type, received_at, 'application/json', '{}'::jsonb,
           convert_to('{"n":' || n || '}', 'UTF8') FROM g`)

  const seen = new Set<string>()
  let cursor: string | null = null
  let pages = 0
  let previous = Infinity
  let ordered = true
  do {
    const r = await get(`/v1/events?limit=1000${cursor ? `&cursor=${cursor}` : ''}`)
    t.equal(r.status, 200)
    const body = r.json as Page<Summary>
    for (const e of body.data) {
      seen.add(`${e.source}/${e.id}`)
      const at = Date.parse(e.receivedAt)
      if (at > previous) ordered = false
      previous = at
    }
    cursor = body.nextCursor
    pages++
  } while (cursor && pages < 20)
  t.equal(seen.size, 10000, 'every event exactly once across the pages')
  t.equal(pages, 10, '10 pages of 1,000; the last has no nextCursor')
  t.ok(ordered, 'newest first')

  const github = (await get('/v1/events?source=github&limit=1000')).json as Page<Summary>
  t.ok(github.data.length === 1000 && github.data.every((e) => e.source === 'github'))
  const pings = (await get('/v1/events?source=shop&type=ping&limit=1000')).json as Page<Summary>
  t.ok(pings.data.length > 0 && pings.data.every((e) => e.source === 'shop' && e.type === 'ping'))
  t.equal(pings.data.length, 833, 'source and type together: 833 of 10,000')
  const sinceAt = new Date(Date.now() - 24 * 3600 * 1000).toISOString()
  const untilAt = new Date(Date.now() - 12 * 3600 * 1000).toISOString()
  let window = 0
  for (let c: string | null = '', i = 0; c !== null && i < 10; i++) {
    const r = (
      await get(`/v1/events?since=${sinceAt}&until=${untilAt}&limit=1000${c ? `&cursor=${c}` : ''}`)
    ).json as Page<Summary>
    t.ok(
      r.data.every((e) => e.receivedAt >= sinceAt && e.receivedAt < untilAt),
      'inside the window',
    )
    window += r.data.length
    c = r.nextCursor
  }
  t.ok(Math.abs(window - 1728) <= 1, `12 hours at one event per 25 s: ${window}`)

  // One event through the webhook port, exactly as sent.
  const body = '{"type":"order.paid","n":1,"text":"héllo"}'
  const res = await post(webhook, body, { 'idempotency-key': 'via-http', 'x-extra': 'kept' })
  t.equal(res.status, 200)
  await until(
    'the event is stored',
    async () => (await get('/v1/events/default/via-http')).status === 200,
  )
  const one = (await get('/v1/events/default/via-http')).json as Record<string, unknown>
  t.equal(Buffer.from(one.body as string, 'base64').toString('utf8'), body, 'body: the exact bytes')
  t.match(one, {
    source: 'default',
    id: 'via-http',
    type: 'order.paid',
    headers: { 'x-extra': 'kept' },
    payload: { type: 'order.paid', n: 1 },
    deliveries: [],
    bytes: Buffer.byteLength(body),
  })
  const missing = await get('/v1/events/default/nope')
  t.equal(missing.status, 404)
  t.match(missing.json, { status: 'error', error: 'not_found' })
  const encoded = await get(`/v1/events/default/${encodeURIComponent('via-http')}`)
  t.equal(encoded.status, 200, 'URL-encoded path parameters')

  const status = (await get('/v1/status')).json as Status
  t.equal(status.status, 'ready')
  t.match(status.checks, {
    journal: { ok: true },
    broker: { name: 'local' },
    database: { state: 'up' },
  })
  t.ok(status.totals.received >= 1, 'received counts the committed event')
  await until(
    'stored reaches the totals',
    async () => {
      const s = (await get('/v1/status')).json as Status
      return s.totals.stored >= 1
    },
    10_000,
  )
  t.type(status.rates.receivedPerSecond, 'number')
  t.equal(status.deadLetters, 0)
  t.match(status.node, { pid: process.pid })
})

t.test('bad input gets 400 with the error body, never a 500', async (t) => {
  const { call, get } = await engineWith(t, { SLUICE_ADMIN_TOKEN: TOKEN_A })
  const cases: [string, RegExp][] = [
    ['/v1/events?limit=0', /limit: must be an integer from 1 to 1000/],
    ['/v1/events?limit=1001', /limit/],
    ['/v1/events?limit=ten', /limit/],
    ['/v1/events?since=yesterday', /since: must be an ISO 8601/],
    ['/v1/events?until=2026-13-45T00:00:00Z', /until/],
    ['/v1/events?colour=red', /unknown field\(s\): colour/],
    ['/v1/events?source=a&source=b', /source: given more than once/],
    ['/v1/events?cursor=notacursor', /cursor: must be a nextCursor/],
    ['/v1/events?cursor=' + Buffer.from('[1,2]').toString('base64url'), /cursor/],
    ['/v1/dead-letters?limit=-1', /limit/],
    ['/v1/events/default/%E0%A4%A', /percent-encoding/],
  ]
  for (const [path, message] of cases) {
    const r = await get(path)
    t.equal(r.status, 400, `${path}: 400`)
    t.match(r.json, { status: 'error', error: 'invalid_request', message }, path)
  }
  const postJson = (body: string) => call('POST', '/v1/dead-letters/redrive', { body })
  for (const [body, message] of [
    ['{not json', /body: must be JSON/],
    // The object and 99 arrays: 100 levels, read (and refused for its shape); one more is not.
    [`{"ids":${'['.repeat(99)}${']'.repeat(99)}}`, /^ids\.0/],
    [`{"ids":${'['.repeat(100)}${']'.repeat(100)}}`, /body: nested deeper than 100 levels/],
    ['{"ids":[]}', /ids: must name at least one/],
    ['{"ids":[{"source":"a"}]}', /ids\.0\.id/],
    ['{"all":true}', /unknown field\(s\): all/],
    ['[1]', /body/],
  ] as const) {
    const r = await postJson(body)
    t.equal(r.status, 400, `${body}: 400`)
    t.match(r.json, { error: 'invalid_request', message }, body)
  }
  const wrongMethod = await call('DELETE', '/v1/events')
  t.equal(wrongMethod.status, 405)
  t.equal(wrongMethod.headers.get('allow'), 'GET')
  t.equal((await get('/v2/nothing')).status, 404)
})

t.test('dead letters: listed, paged, redriven by id', async (t) => {
  const { call, pool, get, webhook } = await engineWith(t, {
    SLUICE_ADMIN_TOKEN: TOKEN_A,
    SLUICE_MAX_ATTEMPTS: '1',
  })
  await pool.query(`CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN IF NEW.id LIKE 'poison-%' THEN RAISE EXCEPTION 'refused by trigger'; END IF;
    RETURN NEW; END $$`)
  await pool.query(
    'CREATE TRIGGER refuse BEFORE INSERT ON event_keys FOR EACH ROW EXECUTE FUNCTION refuse()',
  )
  for (const id of ['poison-1', 'poison-2', 'poison-3']) {
    const r = await post(webhook, `{"type":"bad","id":"${id}"}`, { 'idempotency-key': id })
    t.equal(r.status, 200)
  }
  interface Letter {
    source: string
    id: string
    attempts: number
    lastError: string
    reason: string
  }
  await until('three dead letters', async () => {
    const r = (await get('/v1/dead-letters')).json as Page<Letter>
    return r.data.length === 3
  })
  const first = (await get('/v1/dead-letters?limit=2')).json as Page<Letter>
  t.equal(first.data.length, 2)
  t.ok(first.nextCursor, 'a second page')
  const second = (await get(`/v1/dead-letters?limit=2&cursor=${first.nextCursor}`))
    .json as Page<Letter>
  t.equal(second.data.length, 1)
  t.equal(second.nextCursor, null)
  const ids = [...first.data, ...second.data].map((l) => l.id).sort()
  t.same(ids, ['poison-1', 'poison-2', 'poison-3'], 'each once across the pages')
  t.match(first.data[0], {
    source: 'default',
    reason: 'attempts_exhausted',
    attempts: 1,
    lastError: /refused by trigger/,
  })
  t.equal(((await get('/v1/dead-letters?source=other')).json as Page<Letter>).data.length, 0)
  t.equal(((await get('/v1/status')).json as { deadLetters: number }).deadLetters, 3)

  const redrive = (body: object) =>
    call('POST', '/v1/dead-letters/redrive', { body }).then((r) => ({
      status: r.status,
      json: r.json,
    }))
  const again = await redrive({ ids: [{ source: 'default', id: 'poison-1' }] })
  t.same(again, { status: 200, json: { count: 0, failed: 1 } }, 'fails again while the cause lasts')
  await pool.query('DROP TRIGGER refuse ON event_keys')
  t.same(await redrive({ ids: [{ source: 'default', id: 'poison-1' }] }), {
    status: 200,
    json: { count: 1, failed: 0 },
  })
  t.equal((await get('/v1/events/default/poison-1')).status, 200, 'the redriven event is a row')
  t.same(await redrive({}), { status: 200, json: { count: 2, failed: 0 } }, '{} redrives the rest')
  t.equal(((await get('/v1/dead-letters')).json as Page<Letter>).data.length, 0)
  const rows = await pool.query<{ n: string }>(
    "SELECT count(*) AS n FROM events WHERE id LIKE 'poison-%'",
  )
  t.equal(rows.rows[0]?.n, '3', 'one row each')
})

failOnLeaks(t)
