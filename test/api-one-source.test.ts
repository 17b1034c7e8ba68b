import t, { type Test } from 'tap'
import { readFileSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { format, resolveConfig } from 'prettier'
import { z } from 'zod'
import { componentSchemas, components } from '../src/api/components.js'
import { PAGE_TYPES_FILE, pageTypes } from '../src/api/page-types.js'
import { deadLetter, pageOf } from '../src/api/responses.js'
import { SluiceApiError, sluiceClient } from '../src/client/index.js'
import { failOnLeaks } from './helpers/leaks.js'

/** The page's types as the generator writes them, formatted as the checked-in file is. */
async function formatted(): Promise<string> {
  const options = (await resolveConfig(PAGE_TYPES_FILE)) ?? {}
  return format(pageTypes(), { ...options, filepath: PAGE_TYPES_FILE })
}

t.test("the page's generated types are up to date", async (t) => {
  const want = await formatted()
  // UPDATE_API_TYPES=1 npx tap test/api-one-source.test.ts rewrites the file.
  if (process.env.UPDATE_API_TYPES === '1') writeFileSync(PAGE_TYPES_FILE, want)
  t.equal(
    readFileSync(PAGE_TYPES_FILE, 'utf8'),
    want,
    `${PAGE_TYPES_FILE} is stale: UPDATE_API_TYPES=1 npx tap test/api-one-source.test.ts`,
  )
})

/** A one-route admin API answering `body` to GET /v1/dead-letters. */
async function answering(t: Test, body: unknown) {
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())))
  const { port } = server.address() as AddressInfo
  return sluiceClient({ baseUrl: `http://127.0.0.1:${port}`, token: 'x'.repeat(20) })
}

const letter = {
  source: 'default',
  id: 'd1',
  reason: 'attempts_exhausted',
  attempts: 2,
  lastError: 'boom',
  firstFailedAt: '2026-12-01T00:00:00.000Z',
  lastFailedAt: '2026-12-01T00:00:01.000Z',
  receivedAt: '2026-12-01T00:00:00.000Z',
  contentType: 'application/json',
  bytes: 2,
}

t.test(
  'a field added to a schema shows in the document, the page types and the client',
  async (t) => {
    const was = { DeadLetter: components.DeadLetter, DeadLetterPage: components.DeadLetterPage }
    t.teardown(() => Object.assign(components, was))
    // The one change: a field in the schema module's map, nowhere else.
    const changed = deadLetter.extend({
      retryHint: z.string().meta({ description: 'probe field' }),
    })
    Object.assign(components, { DeadLetter: changed, DeadLetterPage: pageOf(changed) })

    const doc = componentSchemas().DeadLetter as {
      properties: Record<string, unknown>
      required: string[]
    }
    t.same(doc.properties.retryHint, { type: 'string', description: 'probe field' }, 'OpenAPI')
    t.ok(doc.required.includes('retryHint'), 'OpenAPI: required')
    t.match(pageTypes(), /type DeadLetter = \{[^}]*retryHint: string/, "the page's types")

    const withField = await answering(t, {
      data: [{ ...letter, retryHint: 'h' }],
      nextCursor: null,
    })
    t.equal(
      ((await withField.listDeadLetters()).data[0] as Record<string, unknown>).retryHint,
      'h',
      'the client keeps it',
    )
    const without = await answering(t, { data: [letter], nextCursor: null })
    await t.rejects(
      without.listDeadLetters(),
      { name: 'SluiceApiError', code: 'invalid_answer', message: /data\.0\.retryHint/ },
      'the client requires it',
    )
  },
)

t.test(
  'every field of every shape is in the document, the page types and the client',
  async (t) => {
    const doc = componentSchemas()
    const page = pageTypes()
    for (const [name, schema] of Object.entries(components)) {
      const shape = (schema as { shape?: Record<string, unknown> }).shape
      if (!shape) continue
      const props = (doc[name as keyof typeof doc].properties ?? {}) as Record<string, unknown>
      const declared = page.slice(
        page.indexOf(`type ${name === 'Error' ? 'ApiErrorBody' : name} =`),
      )
      for (const field of Object.keys(shape)) {
        t.ok(field in props, `${name}.${field}: in the OpenAPI document`)
        t.match(
          declared,
          new RegExp(`\\n  ${field}\\??: `),
          `${name}.${field}: in the page's types`,
        )
      }
    }
    t.ok(new SluiceApiError('x', null) instanceof Error)
  },
)

failOnLeaks(t)
