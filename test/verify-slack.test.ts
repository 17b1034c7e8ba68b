import t from 'tap'
import { createHmac } from 'node:crypto'
import { buildSources, type IngestSource } from '../src/sources/index.js'
import { sourcesFileSchema } from '../src/sources/schema.js'
import { failOnLeaks } from './helpers/leaks.js'

const NOW = 1_760_000_000_000
const TS = String(NOW / 1000)
const SECRET = '8f742231b10e8888abcd99yyyzzz85a5'

function source(verify: unknown, now = NOW): IngestSource {
  const { sources } = sourcesFileSchema({}).parse({ sources: { slack: { verify } } })
  const built = buildSources(sources, { now: () => now }).get('slack')
  if (!built) throw new Error('source slack not built')
  return built
}

// Slack's published example request ("Verifying requests from Slack", api.slack.com/authentication/
// verifying-requests-from-slack): its signing secret, timestamp, slash-command body and signature.
const DOC = {
  secret: SECRET,
  ts: '1531420618',
  body:
    'token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V' +
    '&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=' +
    '&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN' +
    '&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c',
  signature: 'v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503',
}

// Slack's documented algorithm: "v0=" + hex HMAC-SHA256(signing secret, "v0:" + ts + ":" + raw body).
// The test's own copy, for the cases Slack publishes no example of; the first test pins it to
// Slack's example, so a misunderstanding it shared with the verifier would fail there.
function slackHeaders(body: Buffer | string, secret = SECRET, ts = TS) {
  const base = Buffer.concat([Buffer.from(`v0:${ts}:`), Buffer.from(body)])
  const sig = `v0=${createHmac('sha256', secret).update(base).digest('hex')}`
  return { 'x-slack-signature': sig, 'x-slack-request-timestamp': ts }
}

const eventBody = Buffer.from(
  JSON.stringify({
    type: 'event_callback',
    event_id: 'Ev01',
    event: { type: 'app_mention', text: 'hi' },
  }),
)

t.test("Slack's published example request verifies, byte for byte", async (t) => {
  // Verified a minute after Slack's timestamp, well inside the five-minute tolerance.
  const slack = source({ type: 'slack', secret: DOC.secret }, (Number(DOC.ts) + 60) * 1000)
  const body = Buffer.from(DOC.body)
  const headers = { 'x-slack-signature': DOC.signature, 'x-slack-request-timestamp': DOC.ts }
  t.same(slack.verify({ headers, body }), { ok: true, verifiedBy: 'slack' })
  const altered = Buffer.from(DOC.body.replace('text=&', 'text=x&'))
  t.match(slack.verify({ headers, body: altered }), { code: 'signature_mismatch' })
  t.equal(
    slackHeaders(body, DOC.secret, DOC.ts)['x-slack-signature'],
    DOC.signature,
    "the test's signer gives Slack's signature for Slack's example",
  )
})

t.test('a signed event verifies', async (t) => {
  const slack = source({ type: 'slack', secret: SECRET })
  t.same(slack.verify({ headers: slackHeaders(eventBody), body: eventBody }), {
    ok: true,
    verifiedBy: 'slack',
  })
})

t.test(
  'form-encoded bodies verify on the raw bytes (slash command, interactivity payload=)',
  async (t) => {
    const slack = source({ type: 'slack', secret: SECRET })
    const command = Buffer.from(
      'token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V' +
        '&user_name=roadrunner&command=%2Fwebhook-collect&text=hello+world%21&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554',
    )
    t.match(slack.verify({ headers: slackHeaders(command), body: command }), {
      ok: true,
      verifiedBy: 'slack',
    })
    const interactive = Buffer.from(
      'payload=' +
        encodeURIComponent(
          JSON.stringify({ type: 'block_actions', user: { id: 'U1' }, actions: [] }),
        ),
    )
    t.match(slack.verify({ headers: slackHeaders(interactive), body: interactive }), { ok: true })
    // Decoding '+' to a space and re-encoding would break the signature; the bytes must stay exact.
    const altered = Buffer.from(command.toString().replace('hello+world', 'hello%20world'))
    t.match(slack.verify({ headers: slackHeaders(command), body: altered }), {
      code: 'signature_mismatch',
    })
  },
)

t.test('url_verification is answered with the challenge after the signature check', async (t) => {
  const slack = source({ type: 'slack', secret: SECRET })
  const body = Buffer.from(
    JSON.stringify({
      token: 'Jhj5dZrVaK7ZwHHjRyZWjbDl',
      challenge: '3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P',
      type: 'url_verification',
    }),
  )
  t.same(slack.verify({ headers: slackHeaders(body), body }), {
    ok: true,
    verifiedBy: 'slack',
    reply: {
      status: 200,
      contentType: 'text/plain; charset=utf-8',
      body: '3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P',
    },
  })
  // An unsigned handshake gets no answer but a 401.
  t.match(slack.verify({ headers: slackHeaders(body, 'not-the-secret'), body }), {
    ok: false,
    status: 401,
    code: 'signature_mismatch',
  })
  // An event that merely mentions the word is an ordinary event.
  const mention = Buffer.from(JSON.stringify({ type: 'event_callback', text: 'url_verification' }))
  t.same(slack.verify({ headers: slackHeaders(mention), body: mention }), {
    ok: true,
    verifiedBy: 'slack',
  })
})

t.test('tampered, wrong secret, missing headers, stale and future timestamps', async (t) => {
  const slack = source({ type: 'slack', secret: SECRET })
  const headers = slackHeaders(eventBody)
  t.match(slack.verify({ headers, body: Buffer.from(eventBody.toString().replace('hi', 'ho')) }), {
    status: 401,
    code: 'signature_mismatch',
  })
  const wrong = slack.verify({ headers: slackHeaders(eventBody, 'other-secret'), body: eventBody })
  t.match(wrong, { status: 401, code: 'signature_mismatch' })
  t.notMatch(JSON.stringify(wrong), new RegExp(SECRET), 'no secret in the rejection')
  t.match(slack.verify({ headers: {}, body: eventBody }), { code: 'signature_missing' })
  t.match(
    slack.verify({
      headers: { 'x-slack-signature': headers['x-slack-signature'] },
      body: eventBody,
    }),
    { code: 'signature_missing' },
  )
  t.match(
    slack.verify({ headers: { ...headers, 'x-slack-signature': 'v1=abc' }, body: eventBody }),
    { code: 'signature_missing' },
  )
  const stale = slackHeaders(eventBody, SECRET, String(NOW / 1000 - 301))
  t.match(slack.verify({ headers: stale, body: eventBody }), {
    status: 401,
    code: 'timestamp_out_of_tolerance',
  })
  const future = slackHeaders(eventBody, SECRET, String(NOW / 1000 + 301))
  t.match(slack.verify({ headers: future, body: eventBody }), {
    code: 'timestamp_out_of_tolerance',
  })
  // A replay with a fresh timestamp but the old signature fails: the timestamp is signed.
  t.match(
    slack.verify({ headers: { ...stale, 'x-slack-request-timestamp': TS }, body: eventBody }),
    { code: 'signature_mismatch' },
  )
})

t.test('rotated secrets both verify', async (t) => {
  const slack = source({ type: 'slack', secret: ['old-signing-secret', SECRET] })
  for (const secret of ['old-signing-secret', SECRET]) {
    t.match(slack.verify({ headers: slackHeaders(eventBody, secret), body: eventBody }), {
      ok: true,
    })
  }
})

failOnLeaks(t)
