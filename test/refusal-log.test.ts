import t from 'tap'
import http from 'node:http'
import { buildSources } from '../src/sources/index.js'
import { sourcesFileSchema } from '../src/sources/schema.js'
import { RefusalLog } from '../src/server/refusal-log.js'
import { startServer } from './helpers/http-server.js'
import { captureLogger, type LogLine } from './helpers/log-capture.js'
import { until } from './helpers/wait.js'
import { failOnLeaks } from './helpers/leaks.js'

/**
 * Refused requests are logged with source, code, status and client address, through the real
 * HTTP server; under a flood the log is sampled per code, and the summary says how many were
 * left out, so nothing is silent.
 */
const sources = () =>
  buildSources(
    sourcesFileSchema({}).parse({
      sources: {
        default: {},
        signed: { verify: { type: 'hmac', header: 'x-signature', secret: 'refusal-test-secret' } },
        limited: { rateLimit: { perSecond: 0.01, burst: 1 } },
      },
    }).sources,
  )

const refusals = (lines: LogLine[]) => lines.filter((l) => l.msg.startsWith('request refused'))
const summaries = (lines: LogLine[]) => lines.filter((l) => typeof l.suppressed === 'number')

async function post(url: string, body: string, headers: Record<string, string> = {}) {
  const r = await fetch(url, { method: 'POST', body, headers })
  await r.arrayBuffer()
  return r.status
}

t.test('each kind of refusal is logged with source, code, status and client', async (t) => {
  const { logger, lines } = captureLogger()
  const { url, server } = await startServer(t, { sources: sources(), maxBodyBytes: 100, logger })
  t.equal(await post(`${url}/webhook`, '{"ok":true}'), 200)
  t.same(refusals(lines), [], 'an accepted event is not a refusal')

  t.equal(await post(`${url}/webhook/signed`, '{}'), 401)
  t.equal(await post(`${url}/webhook/signed`, '{}', { 'x-signature': 'ab'.repeat(32) }), 401)
  t.equal(await post(`${url}/webhook/nope`, '{}'), 404)
  t.equal(await post(`${url}/webhook`, 'x'.repeat(200)), 413)
  t.equal(await post(`${url}/webhook/limited`, '{}'), 200)
  t.equal(await post(`${url}/webhook/limited`, '{}'), 429)
  t.equal((await fetch(`${url}/webhook`)).status, 405)
  t.equal((await fetch(`${url}/elsewhere`)).status, 404)
  server.stopAccepting()
  t.equal(await post(`${url}/webhook`, '{}'), 503)

  const got = refusals(lines).map((l) => ({
    code: l.code,
    status: l.status,
    source: l.source,
    route: l.route,
    client: l.client,
  }))
  const client = '127.0.0.1'
  t.same(got, [
    { code: 'signature_missing', status: 401, source: 'signed', route: 'webhook', client },
    { code: 'signature_mismatch', status: 401, source: 'signed', route: 'webhook', client },
    { code: 'unknown_source', status: 404, source: 'nope', route: 'webhook', client },
    { code: 'body_too_large', status: 413, source: 'default', route: 'webhook', client },
    { code: 'rate_limited', status: 429, source: 'limited', route: 'webhook', client },
    { code: 'method_not_allowed', status: 405, source: 'default', route: 'webhook', client },
    { code: 'not_found', status: 404, source: undefined, route: 'other', client },
    { code: 'shutting_down', status: 503, source: 'default', route: 'webhook', client },
  ])
  const byCode = new Map(refusals(lines).map((l) => [l.code, l]))
  t.equal(byCode.get('shutting_down')?.level, 40, 'a 503 is a warning')
  t.equal(byCode.get('signature_mismatch')?.level, 30, 'a 4xx is info')
  t.match(byCode.get('signature_missing')?.msg, /x-signature/, 'the reason is in the message')
  t.notMatch(JSON.stringify(lines), /refusal-test-secret/, 'no secret in the log')

  const metrics = await (await fetch(`${url}/metrics`)).text()
  t.match(
    metrics,
    /^sluice_http_responses_total\{route="webhook",status="401",source="signed",code="signature_mismatch"\} 1$/m,
    'responses are counted by source and code',
  )
  t.match(
    metrics,
    /^sluice_http_responses_total\{route="webhook",status="404",source="",code="unknown_source"\} \d+$/m,
    'an unknown source is not a label value (clients choose it)',
  )
  t.match(metrics, /^sluice_ingest_duration_seconds_count\{source="limited"\} 2$/m)
  t.match(metrics, /^sluice_ingest_duration_seconds_bucket\{le="\+Inf",source="signed"\} 2$/m)
})

t.test('a flood of bad signatures is sampled: few lines, the rest counted', async (t) => {
  const { logger, lines } = captureLogger()
  // One long interval, so how many requests fall into it does not depend on the machine's speed.
  const { url, server } = await startServer(t, {
    sources: sources(),
    logger,
    refusalLog: { perInterval: 10, intervalMs: 600_000 },
  })
  const agent = new http.Agent({ keepAlive: true, maxSockets: 50 })
  t.teardown(() => agent.destroy())
  const total = 2000
  let next = 0
  const statuses = new Map<number, number>()
  const client = async () => {
    while (next++ < total) {
      const status = await new Promise<number>((resolve, reject) => {
        const req = http.request(
          `${url}/webhook/signed`,
          { method: 'POST', agent, headers: { 'x-signature': '00'.repeat(32) } },
          (res) => {
            res.resume()
            res.on('end', () => resolve(res.statusCode ?? 0))
          },
        )
        req.on('error', reject)
        req.end(`{"n":${next}}`)
      })
      statuses.set(status, (statuses.get(status) ?? 0) + 1)
    }
  }
  await Promise.all(Array.from({ length: 50 }, client))
  t.same([...statuses], [[401, total]], 'every request was refused')
  t.equal(refusals(lines).length, 10, 'only the first 10 of the interval are logged in full')
  t.same(summaries(lines), [], 'the summary waits for the end of the interval')
  await server.close()
  const [summary, ...more] = summaries(lines)
  t.same(more, [], 'one summary per code')
  t.match(summary, { code: 'signature_mismatch', suppressed: total - 10, refused: total })
  t.match(summary?.msg, /1990 more requests refused with signature_mismatch/)
  t.ok(lines.length < 20, `${lines.length} lines for ${total} refused requests`)
})

t.test('the summary comes by itself when the interval ends, per code', async (t) => {
  const { logger, lines } = captureLogger()
  const log = new RefusalLog(logger, { perInterval: 2, intervalMs: 50 })
  const refusal = { status: 401, route: 'webhook', source: 's', client: '192.0.2.1', message: 'm' }
  for (let i = 0; i < 5; i++) log.refused({ ...refusal, code: 'signature_mismatch' })
  log.refused({ ...refusal, code: 'rate_limited', status: 429 })
  await until('the interval ended', () => summaries(lines).length > 0)
  t.equal(refusals(lines).length, 3, '2 of one code, 1 of the other')
  t.match(summaries(lines), [{ code: 'signature_mismatch', suppressed: 3 }])
  t.equal(summaries(lines).length, 1, 'no summary for a code with nothing suppressed')
  for (let i = 0; i < 3; i++) log.refused({ ...refusal, code: 'signature_mismatch' })
  t.equal(refusals(lines).length, 5, 'a new interval logs its first ones in full again')
  log.endInterval()
  t.match(summaries(lines)[1], { code: 'signature_mismatch', suppressed: 1 })
})

failOnLeaks(t)
