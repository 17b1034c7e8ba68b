import t from 'tap'
import { createHmac } from 'node:crypto'
import { buildSources, type IngestSource } from '../src/sources/index.js'
import { sourcesFileSchema } from '../src/sources/schema.js'
import { failOnLeaks } from './helpers/leaks.js'

function source(verify: unknown): IngestSource {
  const { sources } = sourcesFileSchema({}).parse({ sources: { shop: { verify } } })
  const built = buildSources(sources).get('shop')
  if (!built) throw new Error('source shop not built')
  return built
}

// Shopify's documented algorithm: base64 of HMAC-SHA256(app secret, raw body). The test's own
// copy: Shopify publishes no test vector, and @shopify/shopify-api (an Admin API client with eight
// dependencies) is not worth a devDependency for one HMAC. A misreading shared with the verifier
// would pass here; CONTRIBUTING.md says so.
const shopifySign = (secret: string, body: Buffer) =>
  createHmac('sha256', secret).update(body).digest('base64')

const body = Buffer.from(
  '{"id":820982911946154508,"email":"jon@example.com","total_price":"598.94"}',
)

t.test('valid Shopify signature verifies', async (t) => {
  const shop = source({ type: 'shopify', secret: 'hush' })
  const headers = {
    'x-shopify-hmac-sha256': shopifySign('hush', body),
    'x-shopify-topic': 'orders/create',
  }
  t.same(shop.verify({ headers, body }), { ok: true, verifiedBy: 'shopify' })
})

t.test('tampered body, wrong secret, missing header, hex instead of base64', async (t) => {
  const shop = source({ type: 'shopify', secret: 'hush' })
  const sig = shopifySign('hush', body)
  const tampered = Buffer.from(body.toString().replace('598.94', '0.01'))
  t.match(shop.verify({ headers: { 'x-shopify-hmac-sha256': sig }, body: tampered }), {
    ok: false,
    status: 401,
    code: 'signature_mismatch',
  })
  const wrong = { 'x-shopify-hmac-sha256': shopifySign('loud', body) }
  t.match(shop.verify({ headers: wrong, body }), { code: 'signature_mismatch' })
  t.match(shop.verify({ headers: {}, body }), { status: 401, code: 'signature_missing' })
  const hex = createHmac('sha256', 'hush').update(body).digest('hex')
  t.match(shop.verify({ headers: { 'x-shopify-hmac-sha256': hex }, body }), {
    code: 'signature_mismatch',
  })
})

t.test('rotated secrets both verify', async (t) => {
  const shop = source({ type: 'shopify', secret: ['first', 'second'] })
  for (const secret of ['first', 'second']) {
    const headers = { 'x-shopify-hmac-sha256': shopifySign(secret, body) }
    t.match(shop.verify({ headers, body }), { ok: true, verifiedBy: 'shopify' })
  }
})

failOnLeaks(t)
