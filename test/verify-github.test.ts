import t from 'tap'
import { sign } from '@octokit/webhooks-methods'
import { buildSources, type IngestSource } from '../src/sources/index.js'
import { sourcesFileSchema } from '../src/sources/schema.js'
import { failOnLeaks } from './helpers/leaks.js'

function source(verify: unknown): IngestSource {
  const { sources } = sourcesFileSchema({}).parse({ sources: { gh: { verify } } })
  const built = buildSources(sources).get('gh')
  if (!built) throw new Error('source gh not built')
  return built
}

const body = Buffer.from(
  JSON.stringify({ action: 'opened', number: 7, zen: 'Keep it logically awesome.' }),
)
const request = (headers: Record<string, string>, b = body) => ({ headers, body: b })

t.test('a payload signed by @octokit/webhooks-methods verifies', async (t) => {
  const gh = source({ type: 'github', secret: "It's a Secret to Everybody" })
  const signature = await sign("It's a Secret to Everybody", body.toString())
  t.match(signature, /^sha256=[0-9a-f]{64}$/)
  t.same(gh.verify(request({ 'x-hub-signature-256': signature })), {
    ok: true,
    verifiedBy: 'github',
  })
  // Hex is case-insensitive.
  t.same(
    gh.verify(request({ 'x-hub-signature-256': `sha256=${signature.slice(7).toUpperCase()}` })),
    {
      ok: true,
      verifiedBy: 'github',
    },
  )
})

t.test('tampered body, wrong secret, missing header -> 401 with the right code', async (t) => {
  const gh = source({ type: 'github', secret: 'right' })
  const good = await sign('right', body.toString())
  const tampered = Buffer.from(body.toString().replace('7', '8'))
  t.match(gh.verify(request({ 'x-hub-signature-256': good }, tampered)), {
    ok: false,
    status: 401,
    code: 'signature_mismatch',
  })
  const wrong = await sign('wrong', body.toString())
  const rejected = gh.verify(request({ 'x-hub-signature-256': wrong }))
  t.match(rejected, { ok: false, status: 401, code: 'signature_mismatch' })
  t.notMatch(JSON.stringify(rejected), /right|wrong/, 'no secret in the rejection')
  t.match(gh.verify(request({})), { ok: false, status: 401, code: 'signature_missing' })
  t.match(gh.verify(request({ 'x-hub-signature': 'sha1=abc' })), { code: 'signature_missing' })
  t.match(gh.verify(request({ 'x-hub-signature-256': good.slice(7) })), {
    code: 'signature_missing',
  })
  t.match(gh.verify(request({ 'x-hub-signature-256': good.slice(0, -2) })), {
    code: 'signature_mismatch',
  })
})

t.test('characters outside ASCII never stand in for hex digits', async (t) => {
  const gh = source({ type: 'github', secret: 's' })
  const good = await sign('s', body.toString())
  // Caseless characters with the same low byte as each digit: a latin1 conversion of the header would turn it into `good`.
  const lookalike =
    'sha256=' +
    [...good.slice(7)].map((c) => String.fromCharCode(0x3000 + c.charCodeAt(0))).join('')
  t.match(gh.verify(request({ 'x-hub-signature-256': lookalike })), { code: 'signature_mismatch' })
  t.match(gh.verify(request({ 'x-hub-signature-256': good })), { ok: true })
})

t.test('rotated secrets: both verify, a third does not', async (t) => {
  const gh = source({ type: 'github', secret: ['old-secret', 'new-secret'] })
  for (const secret of ['old-secret', 'new-secret']) {
    const sig = await sign(secret, body.toString())
    t.match(gh.verify(request({ 'x-hub-signature-256': sig })), { ok: true, verifiedBy: 'github' })
  }
  const other = await sign('other-secret', body.toString())
  t.match(gh.verify(request({ 'x-hub-signature-256': other })), { code: 'signature_mismatch' })
})

t.test('verification is on the raw bytes, not a re-encoding', async (t) => {
  const gh = source({ type: 'github', secret: 's' })
  // Not valid UTF-8: a verifier that decoded and re-encoded the body would compute another HMAC.
  const raw = Buffer.from([0x7b, 0xff, 0xfe, 0x7d])
  const { createHmac } = await import('node:crypto')
  const sig = `sha256=${createHmac('sha256', 's').update(raw).digest('hex')}`
  t.match(gh.verify(request({ 'x-hub-signature-256': sig }, raw)), { ok: true })
})

failOnLeaks(t)
