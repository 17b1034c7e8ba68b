import t from 'tap'
import { execFileSync } from 'node:child_process'
import { Webhook } from 'standardwebhooks'
import { generateSecret, secretKey, signature, signHeaders } from '../src/outbound/sign.js'
import { standardWebhooksVerifier } from '../src/sources/verifiers/standard-webhooks.js'
import { failOnLeaks } from './helpers/leaks.js'

const nowSeconds = () => Math.floor(Date.now() / 1000)
const json = Buffer.from('{"type":"order.paid","amount":4200,"note":"caf\u00e9 \u{1f600}"}')

t.test('the published Standard Webhooks test vector', async (t) => {
  // From the reference library's tests (standard-webhooks/standard-webhooks, javascript
  // webhook.test.ts, "sign function works"): computed by them, not by us.
  const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'
  const body = Buffer.from('{"test": 2432232314}')
  const expected = 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE='
  t.equal(signature('msg_p5jXN8AQM9LWM0D4loKWxJek', 1614265330, body, secret), expected)
  t.same(signHeaders('msg_p5jXN8AQM9LWM0D4loKWxJek', 1614265330, body, [secret]), {
    'webhook-id': 'msg_p5jXN8AQM9LWM0D4loKWxJek',
    'webhook-timestamp': '1614265330',
    'webhook-signature': expected,
  })
})

t.test('generateSecret: whsec_ and 32 random bytes', async (t) => {
  const a = generateSecret()
  t.match(a, /^whsec_[A-Za-z0-9+/]{43}=$/)
  t.equal(secretKey(a).length, 32)
  t.not(generateSecret(), a)
})

t.test('one secret: the standardwebhooks library verifies', async (t) => {
  const secret = generateSecret()
  const headers = signHeaders('evt_1', nowSeconds(), json, [secret])
  t.same(new Webhook(secret).verify(json, headers), JSON.parse(json.toString()))
  t.throws(() => new Webhook(generateSecret()).verify(json, headers), 'another secret fails')
})

t.test('during a rotation: two signatures, each secret alone verifies', async (t) => {
  const [previous, current] = [generateSecret(), generateSecret()]
  const headers = signHeaders('evt_2', nowSeconds(), json, [current, previous])
  t.equal(headers['webhook-signature'].split(' ').length, 2)
  t.match(headers['webhook-signature'], /^v1,\S+ v1,\S+$/)
  for (const secret of [previous, current]) {
    t.ok(new Webhook(secret).verify(json, headers), 'verifies with one of the two')
  }
  t.throws(() => new Webhook(generateSecret()).verify(json, headers), 'a third does not')
})

t.test('a tampered body, id or timestamp fails verification', async (t) => {
  const secret = generateSecret()
  const ts = nowSeconds()
  const headers = signHeaders('evt_3', ts, json, [secret])
  const wh = new Webhook(secret)
  const tampered = Buffer.from(json.toString().replace('4200', '4201'))
  t.throws(() => wh.verify(tampered, headers), { message: /No matching signature/ })
  t.throws(() => wh.verify(json, { ...headers, 'webhook-id': 'evt_4' }), /No matching/)
  const later = { ...headers, 'webhook-timestamp': String(ts + 1) }
  t.throws(() => wh.verify(json, later), /No matching/)
})

t.test('the body is signed byte for byte, non-UTF-8 bytes included', async (t) => {
  const body = Buffer.from([0xff, 0xfe, 0x00, 0x80, 0xc3, 0x28, 0x0a, 0x7b, 0xed, 0xa0, 0x80])
  const secret = generateSecret()
  const ts = nowSeconds()
  const headers = signHeaders('evt_bin', ts, body, [secret])
  // An independent implementation: OpenSSL's HMAC over the exact bytes.
  const key = secretKey(secret).toString('hex')
  const signed = Buffer.concat([Buffer.from(`evt_bin.${ts}.`), body])
  const digest = execFileSync(
    'openssl',
    ['dgst', '-sha256', '-mac', 'HMAC', '-macopt', `hexkey:${key}`, '-binary'],
    { input: signed },
  )
  t.equal(headers['webhook-signature'], `v1,${digest.toString('base64')}`)
  // Sluice's own inbound verifier (raw bytes) accepts what the outbound side signs.
  const verify = standardWebhooksVerifier([secret], { now: () => ts * 1000 })
  t.match(verify({ headers: { ...headers }, body }), { ok: true, providerId: 'evt_bin' })
  const flipped = Buffer.from(body)
  flipped[0] = 0xfe
  t.match(verify({ headers: { ...headers }, body: flipped }), { ok: false })
  // The standardwebhooks JS library decodes the body as UTF-8 before signing, so it cannot
  // check a body that is not UTF-8 (and it JSON-parses what it verified): receivers with such
  // bodies verify on the bytes, as the spec says and as the two checks above do.
})

t.test('bad secrets and arguments are TypeErrors that never quote the secret', async (t) => {
  // One fixed message: whatever was passed (perhaps a real secret in the wrong form) stays out.
  const message = 'a webhook secret must be whsec_ followed by base64'
  const bad = ['', 'whsec_', 'whsec_not base64!', 'whsec_abc', 'MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw']
  for (const secret of bad) t.throws(() => secretKey(secret), new TypeError(message), secret)
  const secret = generateSecret()
  t.throws(() => signHeaders('evt', 1, json, []), TypeError)
  t.throws(() => signHeaders('evt', 1.5, json, [secret]), TypeError)
  t.throws(() => signHeaders('evt', -1, json, [secret]), TypeError)
  t.throws(() => signHeaders('e vt', 1, json, [secret]), TypeError)
  t.throws(() => signHeaders('evt\r\nx: y', 1, json, [secret]), TypeError)
  t.throws(() => signHeaders('', 1, json, [secret]), TypeError)
})

failOnLeaks(t)
