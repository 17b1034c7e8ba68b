import t from 'tap'
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
  const { engine, dir, webhook } = await startAdminEngine(t, {
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
  await until('delivered', () => rx.received.length === 1, 30_000)
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

failOnLeaks(t)
