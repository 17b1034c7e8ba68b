import t from 'tap'
import { failOnLeaks } from './helpers/leaks.js'
import { startAdminEngine } from './helpers/admin-engine.js'
import { post } from './helpers/post.js'
import { collect, spawnSluice } from './helpers/spawn.js'
import { until } from './helpers/wait.js'

t.test('sluice status and sluice events list|show read the running engine', async (t) => {
  const { engine, dir, webhook } = await startAdminEngine(t, {})
  // The token comes from the engine's token file in SLUICE_DATA_DIR, as an operator's would.
  const env = { SLUICE_DATA_DIR: dir, SLUICE_ADMIN_PORT: String(engine.adminPort) }
  const sluice = (...args: string[]) => collect(spawnSluice(args, env))
  const body = '{"type":"order.paid","note":"héllo"}'
  const res = await post(webhook, body, {
    'idempotency-key': 'cli-1',
  })
  t.equal(res.status, 200)
  await until('stored', async () => (await sluice('events', 'show', '--id', 'cli-1')).code === 0)

  const human = await sluice('status')
  t.equal(human.code, 0, 'exit 0: the engine is ready')
  t.match(human.stdout, /READY/)
  t.match(human.stdout, /ok\s+journal\s+open, backlog \d+/)
  t.match(human.stdout, /ok\s+database\s+up, consuming/)
  const json = await sluice('status', '--json')
  t.equal(json.code, 0)
  const status = JSON.parse(json.stdout) as { status: string; checks: Record<string, unknown> }
  t.equal(status.status, 'ready', '--json prints GET /v1/status')
  t.ok(status.checks.broker, 'with the broker check')

  const list = await sluice('events', 'list', '--source', 'default', '--limit', '10')
  t.equal(list.code, 0)
  const lines = list.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { id: string })
  t.same(
    lines.map((l) => l.id),
    ['cli-1'],
    'one JSON line per event',
  )
  const show = await sluice('events', 'show', '--id', 'cli-1')
  t.equal(show.code, 0)
  t.match(JSON.parse(show.stdout), { id: 'cli-1', type: 'order.paid', bodyText: body })

  const missing = await sluice('events', 'show', '--id', 'nope')
  t.equal(missing.code, 1, 'no such event: exit 1')
  t.match(missing.stderr, /404/)
  const bad = await sluice('events', 'list', '--limit', '0')
  t.equal(bad.code, 2, 'a value the API refuses: exit 2')
  t.match(bad.stderr, /limit: must be an integer from 1 to 1000/)
  const noId = await sluice('events', 'show')
  t.equal(noId.code, 2, '--id is required')
  const wrongToken = await collect(
    spawnSluice(['status'], { ...env, SLUICE_ADMIN_TOKEN: 'not-the-token-0123456789' }),
  )
  t.equal(wrongToken.code, 1)
  t.match(wrongToken.stderr, /401/)
  const down = await collect(
    spawnSluice(['status'], { SLUICE_DATA_DIR: dir, SLUICE_ADMIN_PORT: '1' }),
  )
  t.equal(down.code, 1, 'no engine: exit 1')
  t.match(down.stderr, /not reachable/)
})

failOnLeaks(t)
