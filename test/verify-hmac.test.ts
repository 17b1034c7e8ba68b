import t from 'tap'
import { createHmac } from 'node:crypto'
import { buildSources, type IngestSource } from '../src/sources/index.js'
import { sourcesFileSchema } from '../src/sources/schema.js'
import { failOnLeaks } from './helpers/leaks.js'

function source(verify: unknown): IngestSource {
  const { sources } = sourcesFileSchema({}).parse({ sources: { custom: { verify } } })
  const built = buildSources(sources).get('custom')
  if (!built) throw new Error('source custom not built')
  return built
}

const body = Buffer.from('event=deploy&status=ok')

for (const algorithm of ['sha1', 'sha256', 'sha512'] as const) {
  for (const encoding of ['hex', 'base64'] as const) {
    t.test(`${algorithm} ${encoding} with a prefix`, async (t) => {
      const custom = source({
        type: 'hmac',
        header: 'X-Signature',
        algorithm,
        encoding,
        prefix: `${algorithm}=`,
        secret: ['k1', 'k2'],
      })
      for (const key of ['k1', 'k2']) {
        const digest = createHmac(algorithm, key).update(body).digest(encoding)
        t.same(custom.verify({ headers: { 'x-signature': `${algorithm}=${digest}` }, body }), {
          ok: true,
          verifiedBy: 'hmac',
        })
      }
      const wrong = createHmac(algorithm, 'k3').update(body).digest(encoding)
      t.match(custom.verify({ headers: { 'x-signature': `${algorithm}=${wrong}` }, body }), {
        ok: false,
        status: 401,
        code: 'signature_mismatch',
      })
      const good = createHmac(algorithm, 'k1').update(body).digest(encoding)
      t.match(custom.verify({ headers: { 'x-signature': good }, body }), {
        code: 'signature_missing',
      })
      t.match(custom.verify({ headers: {}, body }), { code: 'signature_missing' })
      t.match(
        custom.verify({
          headers: { 'x-signature': `${algorithm}=${good}` },
          body: Buffer.from('x'),
        }),
        { code: 'signature_mismatch' },
      )
    })
  }
}

t.test('defaults: sha256, hex, no prefix', async (t) => {
  const custom = source({ type: 'hmac', header: 'X-Acme-Sig', secret: 'k' })
  const digest = createHmac('sha256', 'k').update(body).digest('hex')
  t.match(custom.verify({ headers: { 'x-acme-sig': digest }, body }), { ok: true })
  t.match(custom.verify({ headers: { 'x-acme-sig': `sha256=${digest}` }, body }), {
    code: 'signature_mismatch',
  })
})

failOnLeaks(t)
