import t from 'tap'
import type { AdminData } from '../src/model/admin-data.js'
import { openApiDocument } from '../src/api/openapi.js'
import { adminRoutes } from '../src/admin/routes.js'
import { failOnLeaks } from './helpers/leaks.js'
import { startAdminEngine } from './helpers/admin-engine.js'
import { post } from './helpers/post.js'
import { until } from './helpers/wait.js'

type Schema = {
  $ref?: string
  allOf?: Schema[]
  required?: string[]
  properties?: Record<string, Schema>
  items?: Schema
}
type Operation = { responses: Record<string, { content?: Record<string, { schema?: Schema }> }> }
const doc = openApiDocument as unknown as {
  paths: Record<string, Record<string, Operation>>
  components: { schemas: Record<string, Schema> }
}
const TOKEN = 'openapi-test-token-0123456789'

/** uWS's method names as OpenAPI's. */
const verb = (m: string) => (m === 'del' ? 'delete' : m)
/** uWS `:name` parameters as OpenAPI `{name}`. */
const openApiPath = (p: string) => p.replaceAll(/:(\w+)/g, '{$1}')

/** The required top-level fields of a schema, through $ref and allOf. */
function required(s: Schema | undefined): string[] {
  if (!s) return []
  if (s.$ref) return required(doc.components.schemas[s.$ref.split('/').pop()!])
  return [...(s.required ?? []), ...(s.allOf ?? []).flatMap(required)]
}
/** The top-level properties of a schema, through $ref and allOf. */
function properties(s: Schema | undefined): Record<string, Schema> {
  if (!s) return {}
  if (s.$ref) return properties(doc.components.schemas[s.$ref.split('/').pop()!])
  return Object.assign({}, s.properties, ...(s.allOf ?? []).map(properties)) as Record<
    string,
    Schema
  >
}
function itemSchema(s: Schema | undefined): Schema | undefined {
  if (!s) return undefined
  if (s.$ref) return itemSchema(doc.components.schemas[s.$ref.split('/').pop()!])
  return s.properties?.data?.items
}

// The route list only: nothing is called on these.
const routes = adminRoutes(
  { data: {} as AdminData, status: async () => ({}), page: null, outbound: { allow: [] } },
  () => openApiDocument,
)

t.test('every route is documented and every documented route exists', async (t) => {
  const served = new Set(routes.map((r) => `${verb(r.method)} ${openApiPath(r.path)}`))
  const documented = new Set(
    Object.entries(doc.paths).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m} ${p}`)),
  )
  t.same([...served].sort(), [...documented].sort())
  for (const r of routes) {
    const op = doc.paths[openApiPath(r.path)]?.[verb(r.method)] as
      { security?: unknown[] } | undefined
    t.equal(Boolean(op?.security?.length), r.auth, `${r.method} ${r.path}: security as the route`)
  }
})

t.test('what the server answers is what the document says', async (t) => {
  const e = await startAdminEngine(t, {
    SLUICE_ADMIN_TOKEN: TOKEN,
    SLUICE_OUTBOUND_ALLOW: '127.0.0.0/8',
  })
  await post(e.webhook, '{"type":"a"}', { 'idempotency-key': 'x1' })
  const call = async (
    method: string,
    path: string,
    opts: { token?: boolean; body?: string } = {},
  ) => {
    const r = await e.call(method.toUpperCase(), path, {
      ...(opts.token === false ? { token: null } : {}),
      ...(opts.body !== undefined ? { body: opts.body } : {}),
    })
    return { status: r.status, body: r.json as Record<string, unknown> | null }
  }
  await until(
    'the event is stored',
    async () => (await call('get', '/v1/events/default/x1')).status === 200,
  )

  t.same(
    (await call('get', '/v1/openapi.json', { token: false })).body,
    openApiDocument,
    'served as written',
  )
  const created = await call('post', '/v1/subscriptions', {
    body: JSON.stringify({ url: 'http://127.0.0.1:9/hook', eventTypes: ['a'] }),
  })
  t.equal(created.status, 201)
  const subscription = String(created.body?.id)
  const concrete: Record<string, string> = {
    '/v1/events/:source/:id': '/v1/events/default/x1',
    '/v1/subscriptions/:id': `/v1/subscriptions/${subscription}`,
    '/v1/subscriptions/:id/rotate-secret': `/v1/subscriptions/${subscription}/rotate-secret`,
  }
  const cases: { route: string; method: string; path: string; token?: boolean; body?: string }[] =
    []
  for (const r of routes) {
    const path = concrete[r.path] ?? r.path
    cases.push({
      route: r.path,
      method: verb(r.method),
      path,
      ...(r.method === 'post' ? { body: '{}' } : {}),
    })
    if (r.auth) cases.push({ route: r.path, method: verb(r.method), path, token: false })
  }
  cases.push({ route: '/v1/events', method: 'get', path: '/v1/events?limit=0' })
  cases.push({ route: '/v1/dead-letters', method: 'get', path: '/v1/dead-letters?cursor=%%' })
  cases.push({ route: '/v1/events/:source/:id', method: 'get', path: '/v1/events/default/none' })
  cases.push({
    route: '/v1/dead-letters/redrive',
    method: 'post',
    path: '/v1/dead-letters/redrive',
    body: '{"ids":[]}',
  })
  for (const c of cases) {
    const op = doc.paths[openApiPath(c.route)]![c.method]!
    const r = await call(c.method, c.path, c)
    const what = `${c.method.toUpperCase()} ${c.path}${c.token === false ? ' (no token)' : ''}`
    t.ok(String(r.status) in op.responses, `${what}: ${r.status} is documented`)
    const schema = op.responses[String(r.status)]?.content?.['application/json']?.schema
    if (!schema || !r.body) continue
    for (const field of required(schema)) t.ok(field in r.body, `${what}: has ${field}`)
    // One level down too: an object answered for a property has what its schema requires.
    for (const [field, sub] of Object.entries(properties(schema))) {
      const value = r.body[field]
      if (typeof value !== 'object' || value === null || Array.isArray(value)) continue
      for (const f of required(sub)) t.ok(f in value, `${what}: ${field} has ${f}`)
    }
    const items = (r.body.data as Record<string, unknown>[] | undefined) ?? []
    for (const field of required(itemSchema(schema))) {
      if (items[0]) t.ok(field in items[0], `${what}: items have ${field}`)
    }
  }
})

failOnLeaks(t)
