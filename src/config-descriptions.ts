import type { envSchema } from './config.js'

/** A variable of the environment schema in src/config.ts. */
export type EnvVariable = keyof typeof envSchema.shape

export interface VariableDoc {
  /** Heading of docs/configuration.md the variable is listed under. */
  group: string
  /** What it does; Markdown, one paragraph. */
  meaning: string
  /**
   * What to print as the default when the schema's own is not the whole story: computed at
   * start-up from the machine (it would differ from one machine to the next), or no default at
   * all, where this says what being unset means.
   */
  default?: string
  /** What it accepts, where the schema's rejection message names the fault instead of the rule. */
  accepts?: string
}

/**
 * The meaning of every variable of the environment schema, which docs/configuration.md is
 * generated from (`npm run docs:config`). A map beside the schema rather than `.describe()` in it,
 * so the schema stays readable; its type makes a variable without a description fail tsc.
 */
export const variableDocs: Record<EnvVariable, VariableDoc> = {
  PORT: {
    group: 'Webhook listener',
    meaning:
      'HTTP port of the webhook listener; `0` picks a free one (the `listening` log line says which).',
  },
  HOST: { group: 'Webhook listener', meaning: 'HTTP bind address of the webhook listener.' },
  SLUICE_MAX_BODY: {
    group: 'Webhook listener',
    meaning:
      'Largest accepted body in bytes; a larger one is answered `413 body_too_large` as soon as the limit is crossed.',
  },
  SLUICE_CONFIG: {
    group: 'Webhook listener',
    meaning:
      'JSON file with per-source signature verification and rate limits ([sources](sources.md)).',
    default: 'unset: one open source, `default`',
  },
  SLUICE_TRUSTED_PROXIES: {
    group: 'Webhook listener',
    meaning:
      'Comma-separated IPs or CIDRs of reverse proxies: from them, the client address (`perClient` rate limits, logs) is the right-most `X-Forwarded-For` address that is not a trusted proxy; anyone else’s `X-Forwarded-For` is ignored ([monitoring](monitoring.md#logs)).',
  },
  SLUICE_DATA_DIR: {
    group: 'Journal and data directory',
    meaning:
      'The journal (`journal.db`), the local queue (`queue.db`), the generated admin token and secret key and, when embedded, Postgres (`pg/`). One process at a time owns it.',
  },
  SLUICE_JOURNAL_SYNC: {
    group: 'Journal and data directory',
    meaning: '`full`: fsync per commit, survives power loss; `normal`: survives a process crash.',
  },
  SLUICE_JOURNAL_MAX_BYTES: {
    group: 'Journal and data directory',
    meaning:
      'Journal size past which new events get `503 journal_full` until the forwarder catches up.',
    default: 'a tenth of the free disk at start',
  },
  SLUICE_BURST_LAG_MS: {
    group: 'Journal and data directory',
    meaning:
      'While ingest keeps the main thread busy, events wait in the journal until they are this old before they are forwarded; `0` forwards at once ([threads](actors.md#yielding-to-ingest)).',
  },
  SLUICE_BROKER: { group: 'Broker', meaning: 'The queue between the journal and the workers.' },
  AMQP_URL: {
    group: 'Broker',
    meaning:
      'RabbitMQ; on a cluster, every node comma-separated (the first that answers is used, the next on losing it).',
  },
  SLUICE_QUEUE: {
    group: 'Broker',
    meaning:
      'RabbitMQ queue, created when absent (an existing one is used as it is, whatever its arguments); `<queue>.retry` is derived.',
  },
  SLUICE_QUEUE_TYPE: { group: 'Broker', meaning: 'Type of the RabbitMQ queue Sluice creates.' },
  SQS_QUEUE_URL: {
    group: 'Broker',
    meaning:
      'The SQS queue, required with `SLUICE_BROKER=sqs`; any standard queue, with or without a RedrivePolicy.',
    default: 'none',
  },
  SQS_DLQ_URL: {
    group: 'Broker',
    meaning:
      'Only for upgrades from 0.1: the dead letters that queue holds are moved into Postgres at start; nothing is sent to it ([upgrading](upgrading.md)).',
    default: 'none',
  },
  AWS_ENDPOINT_URL_SQS: {
    group: 'Broker',
    meaning: 'SQS endpoint; when set it wins over the queue URL’s host (emulators).',
    default: 'the AWS SDK’s',
  },
  SLUICE_ENVELOPE_EVENTS: {
    group: 'Broker',
    meaning:
      'Events per broker message at most (RabbitMQ, SQS) ([brokers](brokers.md#envelopes-many-events-per-broker-message)).',
  },
  SLUICE_ENVELOPE_BYTES: {
    group: 'Broker',
    meaning:
      'Bytes of events per broker message at most; a larger event travels alone (SQS: at most what fits one message).',
  },
  DATABASE_URL: {
    group: 'Database and workers',
    meaning: 'PostgreSQL connection string.',
    default: 'unset: embedded Postgres in `SLUICE_DATA_DIR/pg`',
  },
  SLUICE_WORKERS: {
    group: 'Database and workers',
    meaning: 'Piscina threads writing to Postgres.',
    default: 'the number of cores (`os.availableParallelism()`)',
  },
  SLUICE_MAX_ATTEMPTS: {
    group: 'Database and workers',
    meaning:
      'Processing attempts before an event goes to the dead-letter table (Postgres `dead_letters`).',
  },
  SLUICE_RETENTION_DAYS: {
    group: 'Database and workers',
    meaning:
      'Days of events (and delivery attempts) kept in Postgres; whole daily partitions are dropped.',
  },
  SLUICE_PIPELINE_NICE: {
    group: 'Database and workers',
    meaning:
      'Linux nice value of the pipeline thread and the worker threads it starts; the main thread keeps 0.',
  },
  SLUICE_LOG_LEVEL: { group: 'Process', meaning: 'pino log level.' },
  SLUICE_SHUTDOWN_TIMEOUT_MS: {
    group: 'Process',
    meaning:
      'Bound of the graceful stop after the first SIGTERM/SIGINT; a second signal forces it.',
  },
  SLUICE_SECRET_KEY: {
    group: 'Outbound delivery',
    meaning:
      'Key sealing subscription secrets at rest; unset, `SLUICE_DATA_DIR/secret-key` (0600) is created and used. Nodes sharing a Postgres must share it ([outbound](outbound.md)).',
    default: 'unset: a key file',
  },
  SLUICE_OUTBOUND_ALLOW: {
    group: 'Outbound delivery',
    meaning:
      'CIDRs or addresses deliveries may reach although they are loopback, private, link-local, … (e.g. `10.0.0.0/8` for internal services); everything else special is refused at connection time. Read at start.',
  },
  SLUICE_OUTBOUND_PROXY: {
    group: 'Outbound delivery',
    meaning:
      'Forward proxy every delivery goes through (`CONNECT` for `https`, absolute form for `http`), asked for the address Sluice resolved and checked, never the name; `https://` proxies are not supported ([outbound](outbound.md#egress-through-a-proxy)).',
    default: 'none: direct',
    accepts: 'must be `http://[user:pass@]host:port`',
  },
  SLUICE_OUTBOUND_NO_PROXY: {
    group: 'Outbound delivery',
    meaning:
      'Destinations that connect directly: `host.name`, `.domain` (and everything under it), addresses and CIDRs (matching URLs written with an address), `*` for all.',
  },
  SLUICE_OUTBOUND_CA_FILE: {
    group: 'Outbound delivery',
    meaning:
      'PEM bundle read at start-up, trusted in addition to the default roots for `https` deliveries (direct or through the proxy).',
    default: 'none',
  },
  SLUICE_DELIVERY_SCHEDULE: {
    group: 'Outbound delivery',
    meaning:
      'Seconds between delivery attempts, each with ±20 % jitter; a receiver’s `Retry-After` within 1 s – 1 h wins; after the last, the delivery is `failed`.',
  },
  SLUICE_DELIVERY_TIMEOUT_MS: {
    group: 'Outbound delivery',
    meaning: 'Bound of one delivery attempt: connect, request, headers and response body.',
  },
  SLUICE_DISPATCHER_START: {
    group: 'Outbound delivery',
    meaning:
      'When the outbound dispatcher thread starts: `eager` with the engine; `on-demand` only once a subscription exists (made through this node at once, made elsewhere within a second), so a node that only ingests keeps no dispatcher thread, its heap and its pool (about 25 MB).',
    default: '`on-demand` on the embedded Postgres, `eager` with `DATABASE_URL`',
  },
  SLUICE_DISABLE_AFTER_HOURS: {
    group: 'Outbound delivery',
    meaning:
      'A subscription whose deliveries failed for this long with no success is disabled; `0` never.',
  },
  SLUICE_ADMIN_HOST: {
    group: 'Admin API and operator page',
    meaning: 'Bind address of the admin API and the operator page (never the webhook listener).',
  },
  SLUICE_ADMIN_PORT: {
    group: 'Admin API and operator page',
    meaning: 'Its port; `0` picks a free one (the `admin listening` log line says which).',
  },
  SLUICE_ADMIN_TOKEN: {
    group: 'Admin API and operator page',
    meaning:
      'Comma-separated bearer tokens (several at once for rotation); unset, `SLUICE_DATA_DIR/admin-token` is created (0600) and used ([admin API](admin-api.md#authentication)).',
    default: 'unset: a token file',
  },
  OTEL_EXPORTER_OTLP_ENDPOINT: {
    group: 'Tracing (OpenTelemetry)',
    meaning:
      'Base URL of an OTLP/HTTP collector: set, Sluice exports a trace per event (receive, journal commit, forward, store, each delivery attempt) as OTLP/HTTP JSON to `<url>/v1/traces`; unset, tracing is off and no OpenTelemetry package is loaded ([monitoring](monitoring.md#tracing)).',
    default: 'none: tracing off',
  },
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: {
    group: 'Tracing (OpenTelemetry)',
    meaning:
      'The traces URL itself (used as given, no `/v1/traces` appended); wins over `OTEL_EXPORTER_OTLP_ENDPOINT` and turns tracing on by itself.',
    default: 'none',
  },
  OTEL_SDK_DISABLED: {
    group: 'Tracing (OpenTelemetry)',
    meaning:
      '`true` (in any case) turns tracing off even with an endpoint set; any other value means false, as in the OpenTelemetry specification.',
    accepts: 'any value',
  },
  OTEL_SERVICE_NAME: {
    group: 'Tracing (OpenTelemetry)',
    meaning:
      '`service.name` of the spans (a `service.name` in `OTEL_RESOURCE_ATTRIBUTES` is overridden by this one when both are set); blank means the default.',
    accepts: 'any value',
  },
  OTEL_TRACES_EXPORTER: {
    group: 'Tracing (OpenTelemetry)',
    meaning:
      'Comma-separated exporters: `none` turns tracing off. Sluice has only the OTLP exporter, so any other name (`console`, `zipkin`) is ignored with a warning at start.',
    accepts: 'any value',
  },
  OTEL_EXPORTER_OTLP_PROTOCOL: {
    group: 'Tracing (OpenTelemetry)',
    meaning:
      'Sluice sends OTLP/HTTP JSON only: another value (`grpc`, `http/protobuf`) is logged as a warning at start, and spans are still sent as JSON, so point the endpoint at the collector’s OTLP/HTTP port (4318).',
    accepts: 'any value',
    default: 'none: `http/json`',
  },
  OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: {
    group: 'Tracing (OpenTelemetry)',
    meaning: 'As `OTEL_EXPORTER_OTLP_PROTOCOL`, for traces; wins over it.',
    accepts: 'any value',
    default: 'none: `OTEL_EXPORTER_OTLP_PROTOCOL`',
  },
}

/** Variables read outside the schema, by libraries or for one adapter. */
export const otherVariables: Record<string, string> = {
  AWS_REGION:
    'Region of the SQS client; unset, the region in the queue URL, else `us-east-1`. The SDK’s other variables (credentials) apply as usual.',
  AWS_ENDPOINT_URL:
    'The AWS SDK’s general endpoint, used for SQS when `AWS_ENDPOINT_URL_SQS` is unset.',
  OTEL_EXPORTER_OTLP_HEADERS:
    'With tracing on, headers of the export requests (`key=value,...`, e.g. an API key), read by the OpenTelemetry exporter; also `OTEL_EXPORTER_OTLP_TRACES_HEADERS`, `OTEL_EXPORTER_OTLP_TIMEOUT`.',
  OTEL_RESOURCE_ATTRIBUTES:
    'With tracing on, extra resource attributes of every span (`deployment.environment=prod,...`).',
  OTEL_TRACES_SAMPLER:
    'With tracing on, the SDK’s sampler (default `parentbased_always_on`: a sender’s unsampled `traceparent` is respected) and `OTEL_TRACES_SAMPLER_ARG`.',
  OTEL_BSP_SCHEDULE_DELAY:
    'With tracing on, the batch span processor’s export interval in ms (default 5000); also `OTEL_BSP_MAX_QUEUE_SIZE`, `OTEL_BSP_MAX_EXPORT_BATCH_SIZE`, `OTEL_BSP_EXPORT_TIMEOUT`.',
}
