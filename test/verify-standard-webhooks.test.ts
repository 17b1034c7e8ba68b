import t from 'tap'
import { Webhook } from 'standardwebhooks'
import { buildSources, type IngestSource } from '../src/sources/index.js'
import { sourcesFileSchema } from '../src/sources/schema.js'
import { failOnLeaks } from './helpers/leaks.js'

function source(verify: unknown, now: number): IngestSource {
  const { sources } = sourcesFileSchema({}).parse({ sources: { acme: { verify } } })
  const built = buildSources(sources, { now: () => now }).get('acme')
  if (!built) throw new Error('source acme not built')
  return built
}

/**
 * Published vector from the Standard Webhooks reference library's tests
 * (standard-webhooks/standard-webhooks, libraries/javascript/src/webhook.test.ts, "sign
 * function works"): computed by them, not by us.
 */
const VECTOR = {
  secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
  id: 'msg_p5jXN8AQM9LWM0D4loKWxJek',
  timestamp: '1614265330',
  body: '{"test": 2432232314}',
  signature: 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
}
const VECTOR_NOW = 1614265330 * 1000

const vectorHeaders = {
  'webhook-id': VECTOR.id,
  'webhook-timestamp': VECTOR.timestamp,
  'webhook-signature': VECTOR.signature,
}

t.test('the spec test vector verifies, with webhook-* and with svix-* headers', async (t) => {
  const acme = source({ type: 'standard-webhooks', secret: VECTOR.secret }, VECTOR_NOW)
  const body = Buffer.from(VECTOR.body)
  // The signed id is reported: it is the event id (docs/sources.md, "Event id and type").
  const verified = { ok: true, verifiedBy: 'standard-webhooks', providerId: VECTOR.id }
  t.same(acme.verify({ headers: vectorHeaders, body }), verified)
  const svix = {
    'svix-id': VECTOR.id,
    'svix-timestamp': VECTOR.timestamp,
    'svix-signature': VECTOR.signature,
  }
  t.same(acme.verify({ headers: svix, body }), verified)
  // The bare base64 secret (no whsec_) is the same key.
  const bare = source({ type: 'standard-webhooks', secret: VECTOR.secret.slice(6) }, VECTOR_NOW)
  t.match(bare.verify({ headers: vectorHeaders, body }), { ok: true })
})

const NOW = 1_760_000_000_000
const SECRET = 'whsec_' + Buffer.from('a 24-byte signing key!!!').toString('base64')
const payload = JSON.stringify({ type: 'invoice.paid', data: { id: 'inv_1', amount: 4200 } })
const body = Buffer.from(payload)

function signed(secret = SECRET, atMs = NOW, id = 'msg_2b8sLq') {
  return {
    'webhook-id': id,
    'webhook-timestamp': String(Math.floor(atMs / 1000)),
    'webhook-signature': new Webhook(secret).sign(id, new Date(atMs), payload),
  }
}

t.test(
  'signed by the standardwebhooks library: verifies; several signatures, one good',
  async (t) => {
    const acme = source({ type: 'standard-webhooks', secret: SECRET }, NOW)
    t.same(acme.verify({ headers: signed(), body }), {
      ok: true,
      verifiedBy: 'standard-webhooks',
      providerId: 'msg_2b8sLq',
    })
    const good = signed()['webhook-signature']
    const other = signed('whsec_' + Buffer.from('another key').toString('base64'))[
      'webhook-signature'
    ]
    const many = `v1a,${good.slice(3)} ${other} v2,${good.slice(3)} ${good}`
    t.match(acme.verify({ headers: { ...signed(), 'webhook-signature': many }, body }), {
      ok: true,
    })
    // The same digest under another version is not accepted.
    const wrongVersion = `v1a,${good.slice(3)} v2,${good.slice(3)}`
    t.match(acme.verify({ headers: { ...signed(), 'webhook-signature': wrongVersion }, body }), {
      code: 'signature_missing',
    })
  },
)

t.test('tampered body, wrong secret, changed id, missing headers', async (t) => {
  const acme = source({ type: 'standard-webhooks', secret: SECRET }, NOW)
  t.match(acme.verify({ headers: signed(), body: Buffer.from(payload.replace('4200', '1')) }), {
    ok: false,
    status: 401,
    code: 'signature_mismatch',
  })
  const wrongSecret = 'whsec_' + Buffer.from('not the right key').toString('base64')
  const rejected = acme.verify({ headers: signed(wrongSecret), body })
  t.match(rejected, { status: 401, code: 'signature_mismatch' })
  t.notMatch(JSON.stringify(rejected), /whsec_|c2lnbmluZy/, 'no secret in the rejection')
  // The id is signed: replaying under another id fails.
  t.match(acme.verify({ headers: { ...signed(), 'webhook-id': 'msg_other' }, body }), {
    code: 'signature_mismatch',
  })
  for (const name of ['webhook-id', 'webhook-timestamp', 'webhook-signature'] as const) {
    const headers: Record<string, string> = { ...signed() }
    delete headers[name]
    t.match(acme.verify({ headers, body }), { status: 401, code: 'signature_missing' }, name)
  }
})

t.test('timestamp tolerance: 5 minutes both ways', async (t) => {
  const acme = source({ type: 'standard-webhooks', secret: SECRET }, NOW)
  t.match(acme.verify({ headers: signed(SECRET, NOW - 301_000), body }), {
    status: 401,
    code: 'timestamp_out_of_tolerance',
  })
  t.match(acme.verify({ headers: signed(SECRET, NOW + 301_000), body }), {
    code: 'timestamp_out_of_tolerance',
  })
  t.match(acme.verify({ headers: signed(SECRET, NOW - 299_000), body }), { ok: true })
  t.match(acme.verify({ headers: signed(SECRET, NOW + 299_000), body }), { ok: true })
  t.match(acme.verify({ headers: { ...signed(), 'webhook-timestamp': 'soon' }, body }), {
    code: 'timestamp_out_of_tolerance',
  })
})

t.test('rotated secrets both verify', async (t) => {
  const old = 'whsec_' + Buffer.from('the previous key').toString('base64')
  const acme = source({ type: 'standard-webhooks', secret: [old, SECRET] }, NOW)
  t.match(acme.verify({ headers: signed(old), body }), { ok: true })
  t.match(acme.verify({ headers: signed(SECRET), body }), { ok: true })
})

t.test('a secret that is not base64 stops start-up without echoing it', async (t) => {
  t.throws(() => source({ type: 'standard-webhooks', secret: 'whsec_not*base64!' }, NOW), {
    name: 'TypeError',
    message: /sources\.acme\.verify\.secret\[0\] must be whsec_ followed by base64/,
  })
  try {
    source({ type: 'standard-webhooks', secret: 'whsec_not*base64!' }, NOW)
  } catch (err) {
    t.notMatch((err as Error).message, /not\*base64/)
  }
})

failOnLeaks(t)
