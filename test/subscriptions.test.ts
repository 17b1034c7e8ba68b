import t from 'tap'
import { readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { SecretBox } from '../src/util/secret-box.js'
import { failOnLeaks } from './helpers/leaks.js'
import { startAdminEngine } from './helpers/admin-engine.js'
import { post } from './helpers/post.js'
import { until } from './helpers/wait.js'

const TOKEN = 'subscriptions-token-0123456789'

interface Sub {
  id: string
  url: string
  status: string
  secret?: string
  eventTypes: string[] | null
  sources: string[] | null
  headers: Record<string, string>
}

t.test('subscriptions through the admin API, and fan-out with the stored event', async (t) => {
  const { pool, dir, webhook, ...e } = await startAdminEngine(t, {
    SLUICE_ADMIN_TOKEN: TOKEN,
    // The subscribers below are on loopback; 10.0.0.0/8 stays refused.
    SLUICE_OUTBOUND_ALLOW: '127.0.0.0/8',
  })
  const call = async (method: string, path: string, body?: unknown) => {
    const r = await e.call(method, path, body === undefined ? {} : { body: JSON.stringify(body) })
    return { status: r.status, json: (r.json ?? {}) as Record<string, unknown> }
  }
  const create = async (body: unknown) => {
    const r = await call('POST', '/v1/subscriptions', body)
    return { status: r.status, sub: r.json as unknown as Sub }
  }

  // Create, then the same (url, eventTypes, sources) updates in place.
  const a = await create({
    url: 'http://127.0.0.1:9/a',
    eventTypes: ['order.*'],
    headers: { 'X-Team': 'shop' },
  })
  t.equal(a.status, 201, 'created')
  t.match(a.sub, {
    status: 'active',
    eventTypes: ['order.*'],
    sources: null,
    headers: { 'X-Team': 'shop' },
  })
  t.match(a.sub.secret, /^whsec_[A-Za-z0-9+/]+=*$/, 'a generated whsec_ secret')
  const again = await create({
    url: 'http://127.0.0.1:9/a',
    eventTypes: ['order.*'],
    description: 'v2',
  })
  t.equal(again.status, 200, 'the same url, types and sources: updated')
  t.equal(again.sub.id, a.sub.id)
  t.notOk('secret' in again.sub, 'an update without a secret does not show the live one')
  const b = await create({ url: 'http://127.0.0.1:9/b', sources: ['github'] })
  const c = await create({
    url: 'http://127.0.0.1:9/c',
    secret: `whsec_${Buffer.alloc(32, 7).toString('base64')}`,
  })
  const d = await create({ url: 'http://127.0.0.1:9/d' })
  t.equal(c.sub.secret, `whsec_${Buffer.alloc(32, 7).toString('base64')}`, 'a given secret is used')
  t.equal(
    (await call('PATCH', `/v1/subscriptions/${d.sub.id}`, { status: 'disabled' })).json.status,
    'disabled',
  )

  // Secrets at rest are sealed with the key in the data directory.
  const keyFile = join(dir, 'secret-key')
  t.equal(statSync(keyFile).mode & 0o777, 0o600, 'the key file is 0600')
  const row = await pool.query<{ secret: Buffer }>(
    'SELECT secret FROM subscriptions WHERE id = $1',
    [c.sub.id],
  )
  t.notOk(
    row.rows[0]!.secret.includes(Buffer.from(c.sub.secret!)),
    'the database holds no plaintext',
  )
  const box = new SecretBox(Buffer.from(readFileSync(keyFile, 'utf8').trim(), 'base64'))
  t.equal(box.open(row.rows[0]!.secret), c.sub.secret, 'it opens with the key')

  // Bad input: 400 with the field named.
  for (const [body, message] of [
    [{ url: 'ftp://x/y' }, /url: must use http or https/],
    [{ url: 'http://user:pw@x/y' }, /url: must not carry credentials/],
    [{ url: 'nonsense' }, /url: must be an absolute/],
    [{ url: 'http://x/', headers: { Host: 'evil' } }, /headers.Host: is set by Sluice/],
    [{ url: 'http://x/', headers: { 'webhook-id': '1' } }, /headers.webhook-id: is set by Sluice/],
    [{ url: 'http://x/', headers: { 'bad name': '1' } }, /not a valid header name/],
    [{ url: 'http://x/', eventTypes: ['a*b'] }, /eventTypes.0: may hold '\*' only as its last/],
    [{ url: 'http://x/', secret: 'plain' }, /secret: must be whsec_/],
    [{ url: 'http://x/', maxInFlight: 0 }, /maxInFlight/],
    [{ url: 'http://x/', colour: 'red' }, /unknown field\(s\): colour/],
  ] as const) {
    const r = await call('POST', '/v1/subscriptions', body)
    t.equal(r.status, 400, JSON.stringify(body))
    t.match(r.json, { status: 'error', error: 'invalid_request', message }, JSON.stringify(body))
  }
  // A valid request the engine's address policy refuses has its own code, and says that the
  // policy is the engine's setting, so a client does not set it in its own environment.
  for (const [url, address] of [
    ['http://10.0.0.1/hook', /10\.0\.0\.1/],
    ['http://169.254.169.254/latest', /169\.254\.169\.254/],
    ['http://[::1]:8080/', /::1/],
  ] as const) {
    for (const [method, path] of [
      ['POST', '/v1/subscriptions'],
      ['PATCH', `/v1/subscriptions/${b.sub.id}`],
    ]) {
      const r = await call(method!, path!, { url })
      t.equal(r.status, 400, `${method} ${url}`)
      t.match(r.json, { status: 'error', error: 'destination_refused' }, `${method} ${url}`)
      t.match(r.json.message, address)
      t.match(
        r.json.message,
        /SLUICE_OUTBOUND_ALLOW is a setting of the engine.*restarted with it/,
        'names where the setting belongs and when it takes effect',
      )
    }
  }

  // Read, page, patch into a clash, rotate, delete.
  const one = await call('GET', `/v1/subscriptions/${a.sub.id}`)
  t.equal(one.status, 200)
  t.notOk('secret' in one.json, 'GET shows no secret')
  const first = await call('GET', '/v1/subscriptions?limit=2')
  const rest = await call(
    'GET',
    `/v1/subscriptions?limit=2&cursor=${String(first.json.nextCursor)}`,
  )
  const ids = [...(first.json.data as Sub[]), ...(rest.json.data as Sub[])].map((s) => s.id)
  t.same(ids.sort(), [a.sub.id, b.sub.id, c.sub.id, d.sub.id].sort(), 'every subscription once')
  t.equal(rest.json.nextCursor, null)
  t.same(
    ((await call('GET', '/v1/subscriptions?status=disabled')).json.data as Sub[]).map((s) => s.id),
    [d.sub.id],
  )
  const clash = await call('PATCH', `/v1/subscriptions/${b.sub.id}`, {
    url: 'http://127.0.0.1:9/d',
    sources: [],
  })
  t.equal(clash.status, 400, 'an empty sources list is refused')
  const clash2 = await call('PATCH', `/v1/subscriptions/${d.sub.id}`, {
    url: 'http://127.0.0.1:9/c',
  })
  t.equal(clash2.status, 409, 'patching into another subscription key: 409')
  t.match(clash2.json, { error: 'subscription_conflict' })
  // null puts a resettable field back to its default: every type, no description.
  const narrowed = await call('PATCH', `/v1/subscriptions/${b.sub.id}`, {
    eventTypes: ['refund.*'],
    description: 'refunds',
  })
  t.match(narrowed.json, { eventTypes: ['refund.*'], description: 'refunds' })
  const widened = await call('PATCH', `/v1/subscriptions/${b.sub.id}`, {
    eventTypes: null,
    description: null,
  })
  t.equal(widened.status, 200)
  t.match(widened.json, { eventTypes: null, description: null }, 'null resets to every type')
  t.equal(
    (await call('PATCH', `/v1/subscriptions/${b.sub.id}`, { url: null })).status,
    400,
    'the url cannot be null',
  )
  const rotated = await call('POST', `/v1/subscriptions/${c.sub.id}/rotate-secret`, {
    graceSeconds: 3600,
  })
  t.equal(rotated.status, 200)
  t.not(rotated.json.secret, c.sub.secret, 'a new secret')
  const prev = await pool.query<{ ok: boolean }>(
    `SELECT previous_secret IS NOT NULL AND previous_secret_until BETWEEN now() + interval '59 minutes'
       AND now() + interval '61 minutes' AS ok FROM subscriptions WHERE id = $1`,
    [c.sub.id],
  )
  t.ok(prev.rows[0]!.ok, 'the old secret keeps signing for the grace period')
  t.equal((await call('GET', '/v1/subscriptions/not-a-uuid')).status, 404)
  t.equal((await call('GET', '/v1/subscriptions/00000000-0000-0000-0000-000000000000')).status, 404)

  // Fan-out: deliveries are created with the event's row, one per matching active subscription.
  // Whether other nodes are notified of them depends on whether this node's dispatcher leased
  // them in the store statement (migration 0016): test/first-leases.test.ts asserts both ways.
  const send = (id: string, body: unknown, source = '') =>
    post(`${webhook}${source ? `/${source}` : ''}`, JSON.stringify(body), { 'idempotency-key': id })
  t.equal((await send('o1', { type: 'order.paid' })).status, 200)
  t.equal((await send('p1', { type: 'ping' })).status, 200)
  const deliveries = async () =>
    (
      await pool.query<{ event_id: string; url: string }>(
        `SELECT d.event_id, s.url FROM deliveries d JOIN subscriptions s ON s.id = d.subscription_id
          ORDER BY d.event_id, s.url`,
      )
    ).rows.map((r) => `${r.event_id} -> ${r.url.slice(-1)}`)
  await until(
    'both events are stored',
    async () => (await pool.query('SELECT 1 FROM events')).rowCount === 2,
  )
  t.same(
    await deliveries(),
    ['o1 -> a', 'o1 -> c', 'p1 -> c'],
    'matching active subscriptions only',
  )
  // The same event again (a sender's retry): no second delivery.
  t.equal((await send('o1', { type: 'order.paid' })).status, 200)
  t.equal((await send('o2', { type: 'order.paid' })).status, 200)
  await until(
    'o2 is stored',
    async () => (await pool.query("SELECT 1 FROM events WHERE id = 'o2'")).rowCount === 1,
  )
  t.same(
    await deliveries(),
    ['o1 -> a', 'o1 -> c', 'o2 -> a', 'o2 -> c', 'p1 -> c'],
    'no duplicate for o1',
  )

  // Deleting cancels pending deliveries.
  t.equal((await call('DELETE', `/v1/subscriptions/${a.sub.id}`)).status, 204)
  t.equal((await call('GET', `/v1/subscriptions/${a.sub.id}`)).status, 404, 'gone from the API')
  const states = await pool.query<{ status: string; n: string }>(
    'SELECT status, count(*) AS n FROM deliveries WHERE subscription_id = $1 GROUP BY status',
    [a.sub.id],
  )
  t.same(states.rows, [{ status: 'cancelled', n: '2' }], 'its pending deliveries are cancelled')
  t.equal(
    (await call('DELETE', `/v1/subscriptions/${a.sub.id}`)).status,
    404,
    'deleting twice: 404',
  )
})

t.test(
  'create-or-update changes only the fields it gives, and shows a secret it made',
  async (t) => {
    const { pool, dir, ...e } = await startAdminEngine(t, { SLUICE_ADMIN_TOKEN: TOKEN })
    const box = new SecretBox(Buffer.from(readFileSync(join(dir, 'secret-key'), 'utf8'), 'base64'))
    const liveSecret = async (id: string) => {
      const { rows } = await pool.query<{ secret: Buffer }>(
        'SELECT secret FROM subscriptions WHERE id = $1',
        [id],
      )
      return box.open(rows[0]!.secret)
    }
    const upsert = async (body: object) => {
      const r = await e.call('POST', '/v1/subscriptions', { body })
      return { status: r.status, sub: r.json as Record<string, unknown> }
    }
    const key = { url: 'https://example.com/orders', eventTypes: ['order.*'] }
    const full = {
      ...key,
      headers: { 'X-Team': 'shop' },
      payload: { tenant: 'acme' },
      rateLimit: { perSecond: 5, burst: 5 },
      maxInFlight: 3,
      description: 'orders for the shop',
    }
    const made = await upsert(full)
    t.equal(made.status, 201)
    t.match(made.sub.secret, /^whsec_/, 'a create shows the secret it generated')
    const id = String(made.sub.id)
    const generated = String(made.sub.secret)

    // The operator's finding: `sluice subscriptions add --url U --type 'order.*'` again.
    const rerun = await upsert(key)
    t.equal(rerun.status, 200)
    t.equal(rerun.sub.id, id)
    t.match(rerun.sub, full, 'headers, payload, rate limit, maxInFlight, description all kept')
    t.notOk('secret' in rerun.sub, 'no secret: none was given or generated')
    t.equal(await liveSecret(id), generated, 'and the live one is unchanged')

    const described = await upsert({ ...key, description: 'orders v2', maxInFlight: 20 })
    t.match(described.sub, { ...full, description: 'orders v2', maxInFlight: 20 }, 'only those two')
    t.notOk('secret' in described.sub)

    const given = `whsec_${Buffer.alloc(32, 9).toString('base64')}`
    const withSecret = await upsert({ ...key, secret: given })
    t.equal(withSecret.sub.secret, given, 'an update that gives a secret answers it')
    t.equal(await liveSecret(id), given)
    t.match(withSecret.sub, { headers: full.headers, description: 'orders v2' })

    // A disabled one stays disabled (enabling is PATCH's); a deleted one is made anew.
    await e.call('PATCH', `/v1/subscriptions/${id}`, { body: { status: 'disabled' } })
    t.match((await upsert(key)).sub, { status: 'disabled', description: 'orders v2' })
    t.equal((await e.call('DELETE', `/v1/subscriptions/${id}`)).status, 204)
    const back = await upsert(key)
    t.equal(back.status, 200, 'taken up again in place, as documented')
    t.match(back.sub, { id, status: 'active' })
    t.same(
      [back.sub.headers, back.sub.payload, back.sub.rateLimit, back.sub.maxInFlight],
      [{}, null, null, 10],
      'with the defaults of a new one',
    )
    t.equal(back.sub.description, null)
    t.match(back.sub.secret, /^whsec_/, 'and a new secret, shown: the old one was deleted with it')
    t.not(back.sub.secret, given)
    t.equal(await liveSecret(id), back.sub.secret)

    const rotated = await e.call('POST', `/v1/subscriptions/${id}/rotate-secret`, { body: {} })
    t.match((rotated.json as { secret?: string }).secret, /^whsec_/, 'rotate still answers it')
  },
)

failOnLeaks(t)
