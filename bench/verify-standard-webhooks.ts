import { createHmac, randomBytes } from 'node:crypto'
import { pathToFileURL } from 'node:url'
import { buildSources } from '../src/sources/index.js'
import { sourcesFileSchema } from '../src/sources/schema.js'

export interface VerifyBenchOptions {
  /** @defaultValue 5120 (5 KB body) */
  bodyBytes?: number
  /** How long to run after the warm-up. @defaultValue 2000 */
  durationMs?: number
}

export interface VerifyBenchResult {
  scheme: 'standard-webhooks'
  bodyBytes: number
  operations: number
  opsPerSecond: number
  microsecondsPerOp: number
  /** The bare HMAC-SHA256 of the same bytes, same run: the floor verification cannot beat. */
  hmacOnlyOpsPerSecond: number
}

const defaults = Object.freeze({ bodyBytes: 5120, durationMs: 2000 })

/**
 * For the HTTP benchmark: a signer for a `standard-webhooks` source configured with `secret`
 * (`whsec_<base64>`). Returns the three headers for one request; a signature stays valid for the
 * source's tolerance (5 minutes) after `nowMs`, so a bench can sign once per distinct id.
 */
export function standardWebhooksSigner(secret: string) {
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64')
  if (key.length === 0) throw new TypeError('secret must be whsec_ followed by base64')
  return (id: string, body: Buffer | string, nowMs = Date.now()): Record<string, string> => {
    const ts = String(Math.floor(nowMs / 1000))
    const sig = createHmac('sha256', key).update(`${id}.${ts}.`).update(body).digest('base64')
    return { 'webhook-id': id, 'webhook-timestamp': ts, 'webhook-signature': `v1,${sig}` }
  }
}

/**
 * Micro-benchmark: Standard Webhooks verification of one signed request through the real source
 * (header parsing, timestamp check, HMAC over the body, constant-time compare), in-process, no
 * HTTP. Every result is checked so the work cannot be optimised away or silently fail.
 */
export function benchVerifyStandardWebhooks(options: VerifyBenchOptions = {}): VerifyBenchResult {
  const { bodyBytes, durationMs } = { ...defaults, ...options }
  if (!Number.isInteger(bodyBytes) || bodyBytes < 1) {
    throw new TypeError('options.bodyBytes must be a positive integer')
  }
  if (!(durationMs > 0)) throw new TypeError('options.durationMs must be a positive number')
  const secret = `whsec_${randomBytes(24).toString('base64')}`
  const now = Date.now()
  const { sources } = sourcesFileSchema({}).parse({
    sources: { acme: { verify: { type: 'standard-webhooks', secret } } },
  })
  const source = buildSources(sources, { now: () => now }).get('acme')
  if (!source) throw new Error('bench source not built')

  const body = Buffer.from(
    JSON.stringify({ type: 'bench', data: 'x'.repeat(bodyBytes) }).slice(0, bodyBytes - 1) + '}',
  )
  const request = { headers: standardWebhooksSigner(secret)('msg_bench', body, now), body }
  const once = () => {
    if (!source.verify(request).ok) throw new Error('bench request did not verify')
  }
  const timed = measure(once, durationMs)
  const key = randomBytes(24)
  const bare = measure(() => {
    createHmac('sha256', key).update('msg_bench.1700000000.').update(body).digest('base64')
  }, durationMs)
  return {
    scheme: 'standard-webhooks',
    bodyBytes: body.byteLength,
    operations: timed.operations,
    opsPerSecond: timed.opsPerSecond,
    microsecondsPerOp: Number((1e6 / timed.opsPerSecond).toFixed(2)),
    hmacOnlyOpsPerSecond: bare.opsPerSecond,
  }
}

/** Run `fn` in batches for `durationMs` after a warm-up. */
function measure(fn: () => void, durationMs: number) {
  for (let i = 0; i < 2000; i++) fn()
  let operations = 0
  const start = performance.now()
  let elapsed = 0
  while (elapsed < durationMs) {
    for (let i = 0; i < 500; i++) fn()
    operations += 500
    elapsed = performance.now() - start
  }
  return { operations, opsPerSecond: Math.round((operations * 1000) / elapsed) }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  console.log(JSON.stringify(benchVerifyStandardWebhooks()))
}
