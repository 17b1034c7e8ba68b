import t from 'tap'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { parse } from 'yaml'
import { loadConfig } from '../src/config.js'
import { brokerChoice } from '../src/pipeline/broker-choice.js'
import { failOnLeaks } from './helpers/leaks.js'

/**
 * No Docker engine here: parse docker-compose.yml and check that Sluice is wired to the other
 * services through the contract's variables, and only through variables the config knows.
 */
const root = fileURLToPath(new URL('..', import.meta.url))
const compose = parse(readFileSync(`${root}docker-compose.yml`, 'utf8')) as {
  services: Record<string, Service>
  configs?: Record<string, { content?: string }>
  volumes?: Record<string, unknown>
}
interface Service {
  image?: string
  command?: string
  environment?: Record<string, string>
  ports?: string[]
  volumes?: string[]
  depends_on?: Record<string, unknown>
  configs?: Array<{ source: string; target: string }>
  profiles?: string[]
}

/** `${NAME:-default}` as Compose resolves it with NAME unset. */
const interpolate = (v: string) => String(v).replace(/\$\{\w+:-([^}]*)\}/g, '$1')
const env = Object.fromEntries(
  Object.entries(compose.services.sluice?.environment ?? {}).map(([k, v]) => [k, interpolate(v)]),
)
const containerPorts = (s: Service | undefined) =>
  (s?.ports ?? []).map((p) => Number(String(p).split(':').pop()))

/** Variables the config schema declares, read from its source (the schema is not exported). */
const configSource = readFileSync(`${root}src/config.ts`, 'utf8')
const schemaBody = configSource.slice(
  configSource.indexOf('z.object({'),
  configSource.indexOf('\n})'),
)
const known = new Set([...schemaBody.matchAll(/^ {2}([A-Z][A-Z0-9_]+):/gm)].map((m) => m[1]!))
/** The AWS SDK's own variables, which the contract defers to for region, endpoint, credentials. */
const awsSdk = new Set(['AWS_REGION', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY'])

t.test('the services are there', async (t) => {
  t.same(Object.keys(compose.services).sort(), [
    'grafana',
    'postgres',
    'prometheus',
    'rabbitmq',
    'sluice',
    'sqs',
  ])
  t.match(compose.services.sluice?.image, /^node:20/, 'Sluice runs on Node 20')
  t.match(compose.services.sluice?.command, /npm ci && npm start/, 'built from this checkout')
  t.match(compose.services.rabbitmq?.image, /^rabbitmq:\d+-management/, 'RabbitMQ with the UI')
  t.ok(containerPorts(compose.services.rabbitmq).includes(15672), 'management UI published')
  t.match(compose.services.sqs?.image, /^softwaremill\/elasticmq-native/)
  t.match(compose.services.postgres?.image, /^postgres:/)
  for (const name of ['sluice', 'postgres', 'rabbitmq', 'sqs']) {
    t.notOk(compose.services[name]?.profiles, `${name} starts with a plain docker compose up`)
  }
  t.same(Object.keys(compose.services.sluice?.depends_on ?? {}).sort(), [
    'postgres',
    'rabbitmq',
    'sqs',
  ])
})

t.test(
  'every variable Sluice gets is one the config knows, and the config accepts them',
  async (t) => {
    t.ok(known.has('SLUICE_BROKER') && known.has('AMQP_URL'), 'schema keys were found')
    for (const name of Object.keys(env)) {
      t.ok(known.has(name) || awsSdk.has(name), `${name} is a known variable`)
    }
    for (const broker of ['local', 'rabbitmq', 'sqs']) {
      const config = loadConfig({ ...env, SLUICE_BROKER: broker })
      t.equal(config.SLUICE_BROKER, broker, `valid with SLUICE_BROKER=${broker}`)
    }
    t.equal(env.SLUICE_BROKER, 'rabbitmq', 'RabbitMQ by default')
  },
)

t.test('the data directory is a volume', async (t) => {
  const mounts = compose.services.sluice?.volumes ?? []
  const data = mounts.find((m) => m.endsWith(`:${env.SLUICE_DATA_DIR}`))
  t.ok(data, `a volume is mounted at SLUICE_DATA_DIR (${env.SLUICE_DATA_DIR})`)
  t.ok(Object.keys(compose.volumes ?? {}).includes(String(data).split(':')[0]!), 'a named volume')
})

t.test('DATABASE_URL points at the postgres service', async (t) => {
  const url = new URL(env.DATABASE_URL!)
  const pg = compose.services.postgres?.environment ?? {}
  t.equal(url.hostname, 'postgres')
  t.equal(Number(url.port || 5432), 5432)
  t.ok(containerPorts(compose.services.postgres).includes(5432))
  t.equal(url.username, pg.POSTGRES_USER)
  t.equal(url.password, pg.POSTGRES_PASSWORD)
  t.equal(url.pathname.slice(1), pg.POSTGRES_DB)
})

t.test('AMQP_URL points at the rabbitmq service', async (t) => {
  const url = new URL(env.AMQP_URL!)
  t.equal(url.hostname, 'rabbitmq')
  t.equal(Number(url.port || 5672), 5672)
  t.ok(containerPorts(compose.services.rabbitmq).includes(5672))
  // RabbitMQ 4 drops a quorum-queue message after 20 deliveries when it has no dead-letter
  // exchange; crash loops count deliveries, so Sluice must give up on them before that.
  t.ok(Number(env.SLUICE_MAX_ATTEMPTS) < 20, 'SLUICE_MAX_ATTEMPTS below the default delivery limit')
})

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')

/** The body of `name { ... }` in ElasticMQ's `queues` block (braces counted), or null. */
function queueBlock(conf: string, name: string): string | null {
  const start = new RegExp(`^\\s+${escape(name)} \\{`, 'm').exec(conf)
  if (!start) return null
  let depth = 0
  for (let i = start.index + start[0].length - 1; i < conf.length; i++) {
    if (conf[i] === '{') depth++
    else if (conf[i] === '}' && --depth === 0) {
      return conf.slice(start.index + start[0].length, i)
    }
  }
  return null
}

t.test('SQS: the queue is on ElasticMQ and declared there; Sluice is given no DLQ', async (t) => {
  const endpoint = new URL(env.AWS_ENDPOINT_URL_SQS!)
  t.equal(endpoint.hostname, 'sqs')
  t.ok(containerPorts(compose.services.sqs).includes(Number(endpoint.port)))
  const conf = compose.configs?.[compose.services.sqs?.configs?.[0]?.source ?? '']?.content ?? ''
  t.equal(compose.services.sqs?.configs?.[0]?.target, '/opt/elasticmq.conf')
  t.match(conf, /host = sqs, port = 9324/, 'queue URLs name the service host')

  const url = new URL(env.SQS_QUEUE_URL!)
  t.equal(url.host, endpoint.host, 'SQS_QUEUE_URL is on the emulator')
  const queue = url.pathname.split('/').pop()!
  const block = queueBlock(conf, queue)
  t.ok(block !== null, `ElasticMQ declares ${queue}`)

  // Dead letters live in Postgres: SQS_DLQ_URL only imports what Sluice 0.1 left in a DLQ.
  t.notOk('SQS_DLQ_URL' in env, 'SQS_DLQ_URL is not set')
  const choice = brokerChoice(loadConfig({ ...env, SLUICE_BROKER: 'sqs' }))
  t.match(
    choice,
    {
      kind: 'sqs',
      options: { queueUrl: env.SQS_QUEUE_URL, endpoint: env.AWS_ENDPOINT_URL_SQS },
    },
    'the SQS adapter gets the queue and the endpoint',
  )
  t.notOk('dlqUrl' in choice.options, 'and no DLQ to drain')

  // A DLQ on the emulator's queue may stay as the broker's own crash-loop guard: then it must
  // exist, and SQS must not move a message before Sluice gave up on it (each retry is a receive).
  const dlq = /deadLettersQueue \{ name = "([^"]+)", maxReceiveCount = (\d+) \}/.exec(block ?? '')
  if (dlq) {
    t.ok(queueBlock(conf, dlq[1]!) !== null, `ElasticMQ declares the redrive target ${dlq[1]}`)
    t.ok(
      Number(dlq[2]) > Number(env.SLUICE_MAX_ATTEMPTS),
      `maxReceiveCount ${dlq[2]} is above SLUICE_MAX_ATTEMPTS ${env.SLUICE_MAX_ATTEMPTS}`,
    )
  }
})

failOnLeaks(t)
