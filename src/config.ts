import { availableParallelism } from 'node:os'
import { readFileSync } from 'node:fs'
import { z } from 'zod'
import { sourcesFileSchema, type SourcesFile } from './sources/schema.js'
import { ConfigError } from './errors.js'
import { parseSecretKey } from './util/secret-box.js'
import { parseNoProxy, parseProxyUrl } from './outbound/proxy-config.js'
import { parseAllowList } from './outbound/ssrf.js'
import { readCaFile } from './outbound/trust.js'
import { parseCidr } from './util/cidr.js'
import { resolveFileVariables } from './config-files.js'
import { parseAmqpUrls } from './brokers/rabbitmq/urls.js'

/** Thrown when configuration is invalid; the message names the variable and what it accepts. */
// Defined beside SluiceError so that modules config.ts imports can throw it without a cycle.
export { ConfigError }

const intIn = (name: string, min: number, max = Number.MAX_SAFE_INTEGER) =>
  z
    .string()
    .regex(/^\d+$/, `${name} must be an integer from ${min} to ${max}`)
    .transform(Number)
    .refine((n) => n >= min && n <= max, `${name} must be an integer from ${min} to ${max}`)

const oneOf = <T extends string>(name: string, values: readonly [T, ...T[]]) =>
  z.enum(values, { message: `${name} must be one of: ${values.join(', ')}` })

/**
 * A comma-separated list whose whole text `check` accepts (it throws an Error naming the
 * variable and the bad entry), as its trimmed, non-empty entries.
 */
const checkedList = (check: (text: string) => unknown) =>
  z
    .string()
    .transform((s, ctx) => {
      try {
        check(s)
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: (err as Error).message })
        return z.NEVER
      }
      return s
        .split(',')
        .map((c) => c.trim())
        .filter(Boolean)
    })
    .default([])

/** An OTLP/HTTP endpoint: an http(s) URL (the exporter POSTs spans to it). */
const otlpUrl = (name: string) =>
  z
    .string()
    .regex(/^https?:\/\/[^\s]+$/, `${name} must be an http:// or https:// URL`)
    .optional()

export const envSchema = z.object({
  PORT: intIn('PORT', 0, 65535).default(8080),
  HOST: z.string().min(1, 'HOST must be a bind address such as 0.0.0.0').default('0.0.0.0'),
  SLUICE_DATA_DIR: z.string().min(1, 'SLUICE_DATA_DIR must be a directory path').default('./data'),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'DATABASE_URL must be a postgres:// or postgresql:// URL')
    .optional(),
  SLUICE_BROKER: oneOf('SLUICE_BROKER', ['local', 'rabbitmq', 'sqs']).default('local'),
  // One URL, or the nodes of a cluster comma-separated; kept as written (validated only) so the
  // start-up summary can redact each password, and parsed into the list by the broker's options.
  AMQP_URL: z
    .string()
    .superRefine((s, ctx) => {
      try {
        parseAmqpUrls(s)
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: (err as Error).message })
      }
    })
    .default('amqp://guest:guest@127.0.0.1:5672'),
  SLUICE_QUEUE: z
    .string()
    .regex(/^[\w.:-]{1,200}$/, 'SLUICE_QUEUE must be 1-200 characters of letters, digits, . _ : -')
    .default('sluice.events'),
  SLUICE_QUEUE_TYPE: oneOf('SLUICE_QUEUE_TYPE', ['quorum', 'classic']).default('quorum'),
  SQS_QUEUE_URL: z.string().url('SQS_QUEUE_URL must be the URL of an SQS queue').optional(),
  SQS_DLQ_URL: z.string().url('SQS_DLQ_URL must be the URL of an SQS queue').optional(),
  AWS_ENDPOINT_URL_SQS: z.string().url('AWS_ENDPOINT_URL_SQS must be a URL').optional(),
  SLUICE_WORKERS: intIn('SLUICE_WORKERS', 1, 256).default(availableParallelism()),
  SLUICE_JOURNAL_SYNC: oneOf('SLUICE_JOURNAL_SYNC', ['full', 'normal']).default('full'),
  SLUICE_MAX_BODY: intIn('SLUICE_MAX_BODY', 1, 64 * 1024 * 1024).default(1048576),
  SLUICE_JOURNAL_MAX_BYTES: intIn('SLUICE_JOURNAL_MAX_BYTES', 1024 * 1024).optional(),
  SLUICE_MAX_ATTEMPTS: intIn('SLUICE_MAX_ATTEMPTS', 1, 1000).default(5),
  SLUICE_ENVELOPE_EVENTS: intIn('SLUICE_ENVELOPE_EVENTS', 1, 1000).default(50),
  SLUICE_ENVELOPE_BYTES: intIn('SLUICE_ENVELOPE_BYTES', 1024, 16 * 1024 * 1024).default(1048576),
  SLUICE_RETENTION_DAYS: intIn('SLUICE_RETENTION_DAYS', 1, 3650).default(30),
  SLUICE_PIPELINE_NICE: intIn('SLUICE_PIPELINE_NICE', 0, 19).default(10),
  SLUICE_BURST_LAG_MS: intIn('SLUICE_BURST_LAG_MS', 0, 3_600_000).default(10000),
  SLUICE_CONFIG: z.string().min(1, 'SLUICE_CONFIG must be the path of a JSON file').optional(),
  SLUICE_LOG_LEVEL: oneOf('SLUICE_LOG_LEVEL', [
    'fatal',
    'error',
    'warn',
    'info',
    'debug',
    'trace',
    'silent',
  ]).default('info'),
  SLUICE_SHUTDOWN_TIMEOUT_MS: intIn('SLUICE_SHUTDOWN_TIMEOUT_MS', 0).default(10000),
  SLUICE_TRUSTED_PROXIES: z
    .string()
    .transform((s) =>
      s
        .split(',')
        .map((p) => p.trim())
        .filter(Boolean),
    )
    .superRefine((list, ctx) => {
      const bad = list.find((p) => parseCidr(p) === null)
      if (bad === undefined) return
      ctx.addIssue({
        code: 'custom',
        message: `SLUICE_TRUSTED_PROXIES must be comma-separated IP addresses or CIDRs, IPv4 or IPv6 (e.g. 10.0.0.5,10.1.0.0/16,fd00::/8); '${bad}' is neither`,
      })
    })
    .default([]),
  SLUICE_SECRET_KEY: z
    .string()
    .transform((s, ctx) => {
      const key = parseSecretKey(s)
      if (!key) {
        ctx.addIssue({
          code: 'custom',
          message:
            'SLUICE_SECRET_KEY must be 32 bytes as 64 hex characters or base64 (e.g. `openssl rand -base64 32`)',
        })
        return z.NEVER
      }
      return key
    })
    .optional(),
  SLUICE_OUTBOUND_ALLOW: checkedList(parseAllowList),
  // Kept as written (validated only) so the start-up summary can redact its password.
  SLUICE_OUTBOUND_PROXY: z
    .string()
    .superRefine((s, ctx) => {
      try {
        parseProxyUrl(s)
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: (err as Error).message })
      }
    })
    .optional(),
  SLUICE_OUTBOUND_NO_PROXY: checkedList(parseNoProxy),
  SLUICE_OUTBOUND_CA_FILE: z
    .string()
    .min(1, 'SLUICE_OUTBOUND_CA_FILE must be the path of a PEM file of CA certificates')
    .optional(),
  SLUICE_DELIVERY_SCHEDULE: z
    .string()
    .transform((s, ctx) => {
      const steps = s.split(',').map((p) => p.trim())
      const ok = steps.length <= 100 && steps.every((p) => /^\d+(\.\d+)?$/.test(p))
      const seconds = steps.map(Number)
      if (!ok || seconds.some((n) => n <= 0 || n > 7 * 86400)) {
        ctx.addIssue({
          code: 'custom',
          message:
            'SLUICE_DELIVERY_SCHEDULE must be 1 to 100 comma-separated delays in seconds between attempts, each above 0 and at most 604800 (e.g. 5,300,1800,7200,18000,36000,36000)',
        })
        return z.NEVER
      }
      return seconds
    })
    .default([5, 300, 1800, 7200, 18000, 36000, 36000]),
  SLUICE_DELIVERY_TIMEOUT_MS: intIn('SLUICE_DELIVERY_TIMEOUT_MS', 100, 600_000).default(15000),
  // Unset: decided in loadConfig by DATABASE_URL (dispatcherStartDefault).
  SLUICE_DISPATCHER_START: oneOf('SLUICE_DISPATCHER_START', ['eager', 'on-demand']).optional(),
  SLUICE_DISABLE_AFTER_HOURS: intIn('SLUICE_DISABLE_AFTER_HOURS', 0, 87_600).default(120),
  SLUICE_ADMIN_HOST: z
    .string()
    .min(1, 'SLUICE_ADMIN_HOST must be a bind address such as 127.0.0.1')
    .default('127.0.0.1'),
  SLUICE_ADMIN_PORT: intIn('SLUICE_ADMIN_PORT', 0, 65535).default(8081),
  SLUICE_ADMIN_TOKEN: z
    .string()
    .transform((s) =>
      s
        .split(',')
        .map((t) => t.trim())
        .filter(Boolean),
    )
    .refine(
      (tokens) =>
        tokens.length > 0 && tokens.every((t) => t.length >= 16 && /^[\x21-\x7e]+$/.test(t)),
      'SLUICE_ADMIN_TOKEN must be one or more comma-separated tokens of at least 16 printable characters',
    )
    .optional(),
  OTEL_EXPORTER_OTLP_ENDPOINT: otlpUrl('OTEL_EXPORTER_OTLP_ENDPOINT'),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: otlpUrl('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT'),
  // OpenTelemetry's rule for booleans: `true` in any case is true, any other value false (the
  // SDKs ignore what they do not understand rather than refuse to start).
  OTEL_SDK_DISABLED: z
    .string()
    .transform((s) => s.trim().toLowerCase() === 'true')
    .default(false),
  // Blank means unset: the default, as the SDK's own resource detector reads it.
  OTEL_SERVICE_NAME: z
    .string()
    .transform((s) => (s.trim() === '' ? 'sluice' : s))
    .default('sluice'),
  // A list as the specification has it (otlp, zipkin, console, none); Sluice's exporter is OTLP,
  // so `none` turns tracing off and any other name only gets a warning (src/tracing/warnings.ts).
  OTEL_TRACES_EXPORTER: z
    .string()
    .transform((s) =>
      s
        .split(',')
        .map((e) => e.trim().toLowerCase())
        .filter(Boolean),
    )
    .default(['otlp']),
  // Kept as given: Sluice sends OTLP/HTTP JSON whatever they say, and warns at start when they
  // ask for another protocol.
  OTEL_EXPORTER_OTLP_PROTOCOL: z.string().optional(),
  OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: z.string().optional(),
})

export type EnvConfig = z.infer<typeof envSchema>
export interface Config extends EnvConfig {
  SLUICE_DISPATCHER_START: 'eager' | 'on-demand'
  sources: SourcesFile['sources']
  /** SLUICE_OUTBOUND_CA_FILE's certificates (PEM), read at start-up. */
  outboundCa?: string
}

/** Parse and validate the environment once, at start-up. Throws ConfigError. */
export function loadConfig(given: NodeJS.ProcessEnv = process.env): Config {
  // Secrets given as <NAME>_FILE are read first, so the schema checks their contents as well.
  const { env, problems, fromFile } = resolveFileVariables(given)
  const blankless = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== ''))
  const parsed = envSchema.safeParse(blankless)
  if (!parsed.success || problems.length > 0) {
    const lines = (parsed.error?.issues ?? []).map((i) => {
      const variable = String(i.path[0] ?? '')
      const line = i.message.startsWith(variable) ? i.message : `${variable}: ${i.message}`
      const file = fromFile.get(variable)
      return file ? `${line} (read from ${file})` : line
    })
    throw new ConfigError(`Invalid configuration:\n  ${[...problems, ...lines].join('\n  ')}`)
  }
  const config = parsed.data
  if (config.SLUICE_BROKER === 'sqs' && !config.SQS_QUEUE_URL) {
    throw new ConfigError('SQS_QUEUE_URL is required when SLUICE_BROKER is sqs (the queue URL)')
  }
  const sources = loadSources(config.SLUICE_CONFIG, env)
  const caFile = config.SLUICE_OUTBOUND_CA_FILE
  return {
    ...config,
    SLUICE_DISPATCHER_START: config.SLUICE_DISPATCHER_START ?? dispatcherStartDefault(config),
    sources,
    ...(caFile ? { outboundCa: loadCaFile(caFile) } : {}),
  }
}

/**
 * On embedded defaults (no DATABASE_URL: one node at the edge, often only ingesting) the
 * dispatcher thread waits for the first subscription: its isolate and pool are about 25 MB of
 * an idle engine's ~270 (bench/README.md, memory). With an external Postgres it starts with the
 * engine, so a node of a fleet is ready to deliver the moment another node adds a subscription.
 */
function dispatcherStartDefault(config: Pick<EnvConfig, 'DATABASE_URL'>): 'eager' | 'on-demand' {
  return config.DATABASE_URL ? 'eager' : 'on-demand'
}

function loadCaFile(path: string): string {
  try {
    return readCaFile(path)
  } catch (err) {
    throw new ConfigError((err as Error).message, { cause: err })
  }
}

function loadSources(path: string | undefined, env: NodeJS.ProcessEnv): SourcesFile['sources'] {
  if (!path) return { default: {} }
  let raw: unknown
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'))
  } catch (err) {
    throw new ConfigError(`SLUICE_CONFIG: cannot read ${path} as JSON: ${(err as Error).message}`, {
      cause: err,
    })
  }
  const parsed = sourcesFileSchema(env).safeParse(raw)
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`)
    throw new ConfigError(`SLUICE_CONFIG (${path}) is invalid:\n  ${lines.join('\n  ')}`)
  }
  return { default: {}, ...parsed.data.sources }
}
