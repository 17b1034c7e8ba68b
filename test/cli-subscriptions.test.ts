import t from 'tap'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { Webhook } from 'standardwebhooks'
import { startAdminEngine } from './helpers/admin-engine.js'
import { receiver } from './helpers/dispatch.js'
import { failOnLeaks } from './helpers/leaks.js'
import { post } from './helpers/post.js'
import { collect, spawnSluice } from './helpers/spawn.js'
import { until } from './helpers/wait.js'

t.test('sluice subscriptions add|list|disable|enable drive the running engine', async (t) => {
  const rx = await receiver()
  t.teardown(() => rx.close())
  const { engine, dir, webhook, pool } = await startAdminEngine(t, {
    SLUICE_OUTBOUND_ALLOW: '127.0.0.0/8',
  })
  const env = { SLUICE_DATA_DIR: dir, SLUICE_ADMIN_PORT: String(engine.adminPort) }
  const sluice = (...args: string[]) => collect(spawnSluice(args, env))

  const add = await sluice(
    'subscriptions',
    'add',
    '--url',
    rx.url(),
    '--type',
    'order.*',
    '--type',
    'refund.issued',
    '--header',
    'X-Tenant: acme',
    '--max-in-flight',
    '3',
    '--description',
    'billing',
  )
  t.equal(add.code, 0, add.stderr)
  const sub = JSON.parse(add.stdout) as { id: string; secret: string; eventTypes: string[] }
  t.same(sub.eventTypes, ['order.*', 'refund.issued'], '--type given twice is two types')
  t.match(sub.secret, /^whsec_/, 'the secret is printed once, on add')
  t.match(sub, { headers: { 'X-Tenant': 'acme' }, maxInFlight: 3, description: 'billing' })

  t.equal((await post(webhook, '{"type":"order.paid"}', { 'idempotency-key': 'c-1' })).status, 200)
  await until('delivered', () => rx.received.length === 1, 30_000).catch(async (err: Error) => {
    // Seen once in CI under load (not reproduced alone): say where the event was.
    const where = await pool.query(
      `SELECT (SELECT count(*) FROM events WHERE id = 'c-1')::int AS rows, (SELECT json_agg(d)
         FROM (SELECT status, attempts, next_attempt_at, lease_until, last_status, last_error
         FROM deliveries WHERE event_id = 'c-1') d) AS deliveries`,
    )
    throw new Error(`${err.message}: ${JSON.stringify(where.rows[0])}`)
  })
  const delivered = rx.received[0]!
  t.ok(new Webhook(sub.secret).verify(delivered.body.toString(), delivered.headers as never))

  // Run again without --header or --description: only what it gives changes, and no secret is
  // printed (none was made or given).
  const rerun = await sluice(
    'subscriptions',
    'add',
    '--url',
    rx.url(),
    '--type',
    'order.*',
    '--type',
    'refund.issued',
  )
  t.equal(rerun.code, 0, rerun.stderr)
  const same = JSON.parse(rerun.stdout) as Record<string, unknown>
  t.equal(same.id, sub.id, 'the same subscription')
  t.match(same, { headers: { 'X-Tenant': 'acme' }, maxInFlight: 3, description: 'billing' })
  t.notOk('secret' in same, 'no secret printed: the live one is not read back')

  const list = await sluice('subscriptions', 'list')
  t.equal(list.code, 0)
  const rows = list.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>)
  t.equal(rows.length, 1)
  t.match(rows[0], { id: sub.id, status: 'active', delivery: { pending: 0, failed: 0 } })
  t.notOk('secret' in rows[0]!, 'list never shows the secret')

  const off = await sluice('subscriptions', 'disable', '--id', sub.id)
  t.equal(off.code, 0)
  t.match(JSON.parse(off.stdout), { id: sub.id, status: 'disabled' })
  const disabled = await sluice('subscriptions', 'list', '--status', 'disabled')
  t.match(JSON.parse(disabled.stdout), { id: sub.id })
  t.equal((await post(webhook, '{"type":"order.paid"}', { 'idempotency-key': 'c-2' })).status, 200)
  const on = await sluice('subscriptions', 'enable', '--id', sub.id)
  t.match(JSON.parse(on.stdout), { status: 'active' })

  const noUrl = await sluice('subscriptions', 'add')
  t.equal(noUrl.code, 2, '--url is required')
  const badHeader = await sluice('subscriptions', 'add', '--url', rx.url(), '--header', 'oops')
  t.equal(badHeader.code, 2)
  t.match(badHeader.stderr, /must be "Name: value"/)
  const refused = await sluice('subscriptions', 'add', '--url', 'ftp://example.com/x')
  t.equal(refused.code, 2, 'a value of the command line the API refuses: exit 2')
  t.match(refused.stderr, /url: must use http or https/)
  // A valid URL the engine's policy refuses: the command line was right, setting the variable
  // for the CLI would change nothing, so it is no usage error.
  const policy = await sluice('subscriptions', 'add', '--url', 'http://10.1.2.3/hook')
  t.equal(policy.code, 1, "refused by the engine's configuration: exit 1")
  t.match(policy.stderr, /400 url: destination 10\.1\.2\.3 is /)
  t.match(
    policy.stderr,
    /SLUICE_OUTBOUND_ALLOW is a setting of the engine, not of the client.*restarted with it/,
  )
  const unknown = await sluice(
    'subscriptions',
    'disable',
    '--id',
    '00000000-0000-4000-8000-000000000000',
  )
  t.equal(unknown.code, 1, 'no such subscription: exit 1')
  t.match(unknown.stderr, /404/)
  t.equal((await sluice('subscriptions', 'frobnicate')).code, 2)
})

t.test('sluice subscriptions add --filter --ordering-key, and resume', async (t) => {
  const rx = await receiver()
  t.teardown(() => rx.close())
  const { engine, dir, webhook, call, pool } = await startAdminEngine(t, {
    SLUICE_OUTBOUND_ALLOW: '127.0.0.0/8',
  })
  const env = { SLUICE_DATA_DIR: dir, SLUICE_ADMIN_PORT: String(engine.adminPort) }
  const sluice = (...args: string[]) => collect(spawnSluice(args, env))
  const add = (...args: string[]) => sluice('subscriptions', 'add', '--url', rx.url(), ...args)

  const filter = { amount: { $gte: 100 }, 'meta.tag': { $ne: 'test' } }
  const made = await add('--filter', JSON.stringify(filter), '--ordering-key', '/account')
  t.equal(made.code, 0, made.stderr)
  const sub = JSON.parse(made.stdout) as { id: string }
  t.match(sub, { filter, ordering: { key: '/account' } }, 'both reach the API')
  for (const [key, amount] of [
    ['small', 50],
    ['large', 150],
  ] as const) {
    const body = JSON.stringify({ type: 'order.paid', account: 'a-1', amount })
    t.equal((await post(webhook, body, { 'idempotency-key': key })).status, 200)
  }
  await until('the large order is delivered', () => rx.received.length === 1, 30_000)
  t.match(JSON.parse(rx.received[0]!.body.toString()), { amount: 150 }, 'the filter applies')
  const [listed] = (await sluice('subscriptions', 'list')).stdout.trim().split('\n')
  t.match(JSON.parse(listed!), { filter, ordering: { key: '/account' } }, 'list shows them')

  // Not JSON, or not an object: usage errors naming the option, before any call.
  const notJson = await add('--filter', '{amount: 1}')
  t.equal(notJson.code, 2, 'a filter that is not JSON: exit 2')
  t.match(notJson.stderr, /^sluice subscriptions add: --filter is not JSON: .*\nusage: /)
  const notObject = await add('--filter', '["amount"]')
  t.equal(notObject.code, 2)
  t.match(notObject.stderr, /--filter must be a JSON object/)
  // Refused by the API: the value given here, so exit 2 too, with the API's path.
  const badOperator = await add('--filter', '{"amount": {"$gtx": 1}}')
  t.equal(badOperator.code, 2, 'an unknown operator: exit 2')
  t.match(badOperator.stderr, /filter\.amount\.\$gtx: unknown operator \$gtx/)
  const badPointer = await add('--ordering-key', 'account')
  t.equal(badPointer.code, 2, 'not a JSON pointer: exit 2')
  t.match(badPointer.stderr, /ordering\.key: must be a JSON pointer/)

  // Paused as flow control pauses it (its run of failures is not reachable in a test): resume
  // is the operator's PATCH {"status":"active"}.
  await pool.query(
    'UPDATE subscriptions SET paused_at = now(), consecutive_failures = 10 WHERE id = $1',
    [sub.id],
  )
  // The engine made its token in the data directory, as the CLI reads it.
  const token = readFileSync(join(dir, 'admin-token'), 'utf8').trim()
  const flow = async () =>
    ((await call('GET', `/v1/subscriptions/${sub.id}`, { token })).json as Flow).delivery.flow
  t.match(await flow(), { state: 'paused', consecutiveFailures: 10 })
  const resumed = await sluice('subscriptions', 'resume', '--id', sub.id)
  t.equal(resumed.code, 0, resumed.stderr)
  t.match(JSON.parse(resumed.stdout), { id: sub.id, status: 'active' })
  t.match(await flow(), { pausedAt: null, consecutiveFailures: 0 }, 'the pause is over')
  t.not((await flow()).state, 'paused')
  t.equal((await sluice('subscriptions', 'resume')).code, 2, '--id is required')
})

interface Flow {
  delivery: { flow: { state: string; pausedAt: string | null; consecutiveFailures: number } }
}

failOnLeaks(t)
