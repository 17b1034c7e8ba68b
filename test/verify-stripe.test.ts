import t from 'tap'
import Stripe from 'stripe'
import { buildSources, type IngestSource } from '../src/sources/index.js'
import { sourcesFileSchema } from '../src/sources/schema.js'
import { failOnLeaks } from './helpers/leaks.js'

const NOW = 1_760_000_000_000
const nowSeconds = NOW / 1000

function source(verify: unknown, now = NOW): IngestSource {
  const { sources } = sourcesFileSchema({}).parse({ sources: { stripe: { verify } } })
  const built = buildSources(sources, { now: () => now }).get('stripe')
  if (!built) throw new Error('source stripe not built')
  return built
}

// The API key is never used: generateTestHeaderString signs locally.
const stripe = new Stripe('sk_test_unused')
const SECRET = 'whsec_test_5Gq2bVb9kqfC0CWp8ZSx1UlNCjqfpZ3x'
const event = {
  id: 'evt_1Q2w3E4r5T6y',
  object: 'event',
  type: 'payment_intent.succeeded',
  data: {},
}
const payload = JSON.stringify(event, null, 2)
const body = Buffer.from(payload)

const header = (secret = SECRET, timestamp = nowSeconds, p = payload) =>
  stripe.webhooks.generateTestHeaderString({ payload: p, secret, timestamp })

t.test(
  'signed by stripe.webhooks.generateTestHeaderString: verified, id and type from the body',
  async (t) => {
    const src = source({ type: 'stripe', secret: SECRET })
    t.same(src.verify({ headers: { 'stripe-signature': header() }, body }), {
      ok: true,
      verifiedBy: 'stripe',
      providerId: 'evt_1Q2w3E4r5T6y',
      eventType: 'payment_intent.succeeded',
    })
  },
)

t.test(
  'several v1 signatures (Stripe rolling its secret): any one matching verifies',
  async (t) => {
    const src = source({ type: 'stripe', secret: SECRET })
    const other = header('whsec_other').split(',')[1] ?? ''
    const mine = header().split(',')[1] ?? ''
    const combined = `t=${nowSeconds},${other},v0=deadbeef,${mine}`
    t.match(src.verify({ headers: { 'stripe-signature': combined }, body }), { ok: true })
    const onlyOther = `t=${nowSeconds},${other}`
    t.match(src.verify({ headers: { 'stripe-signature': onlyOther }, body }), {
      code: 'signature_mismatch',
    })
  },
)

t.test('rotated secrets in the config: both verify', async (t) => {
  const src = source({ type: 'stripe', secret: ['whsec_old', SECRET] })
  for (const secret of ['whsec_old', SECRET]) {
    t.match(src.verify({ headers: { 'stripe-signature': header(secret) }, body }), {
      ok: true,
      providerId: event.id,
    })
  }
})

t.test('tampered body, wrong secret, missing header, stale or future timestamp', async (t) => {
  const src = source({ type: 'stripe', secret: SECRET })
  const tampered = Buffer.from(payload.replace('succeeded', 'failed'))
  t.match(src.verify({ headers: { 'stripe-signature': header() }, body: tampered }), {
    ok: false,
    status: 401,
    code: 'signature_mismatch',
  })
  const wrong = src.verify({ headers: { 'stripe-signature': header('whsec_wrong') }, body })
  t.match(wrong, { status: 401, code: 'signature_mismatch' })
  t.notMatch(JSON.stringify(wrong), /whsec_/, 'no secret in the rejection')
  t.match(src.verify({ headers: {}, body }), { status: 401, code: 'signature_missing' })
  t.match(src.verify({ headers: { 'stripe-signature': `t=${nowSeconds}` }, body }), {
    code: 'signature_missing',
  })
  const noT = header().split(',')[1] ?? ''
  t.match(src.verify({ headers: { 'stripe-signature': noT }, body }), { code: 'signature_missing' })
  t.match(src.verify({ headers: { 'stripe-signature': header(SECRET, nowSeconds - 301) }, body }), {
    status: 401,
    code: 'timestamp_out_of_tolerance',
  })
  t.match(src.verify({ headers: { 'stripe-signature': header(SECRET, nowSeconds + 301) }, body }), {
    code: 'timestamp_out_of_tolerance',
  })
  t.match(src.verify({ headers: { 'stripe-signature': header(SECRET, nowSeconds - 299) }, body }), {
    ok: true,
  })
})

t.test('toleranceSeconds widens or narrows the window', async (t) => {
  const wide = source({ type: 'stripe', secret: SECRET, toleranceSeconds: 600 })
  t.match(
    wide.verify({ headers: { 'stripe-signature': header(SECRET, nowSeconds - 500) }, body }),
    {
      ok: true,
    },
  )
  const narrow = source({ type: 'stripe', secret: SECRET, toleranceSeconds: 10 })
  t.match(
    narrow.verify({ headers: { 'stripe-signature': header(SECRET, nowSeconds - 11) }, body }),
    {
      code: 'timestamp_out_of_tolerance',
    },
  )
})

t.test('a signed body that is not JSON verifies without a provider id', async (t) => {
  const src = source({ type: 'stripe', secret: SECRET })
  const text = 'not json'
  t.same(
    src.verify({
      headers: { 'stripe-signature': header(SECRET, nowSeconds, text) },
      body: Buffer.from(text),
    }),
    {
      ok: true,
      verifiedBy: 'stripe',
    },
  )
})

failOnLeaks(t)
