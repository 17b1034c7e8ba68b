import t from 'tap'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parse } from 'yaml'
import { loadConfig } from '../src/config.js'
import { FILE_VARIABLES } from '../src/config-files.js'
import { brokerChoice } from '../src/pipeline/broker-choice.js'
import { failOnLeaks } from './helpers/leaks.js'

/**
 * No Docker engine here: docker-compose.yml is parsed and checked for what `docker compose up`
 * would do: which services a profile starts, what they wait for, what reaches the host, and
 * that Sluice gets only variables of its configuration, with secrets as files.
 */
const root = fileURLToPath(new URL('..', import.meta.url))
interface Service {
  build?: string
  image?: string
  command?: unknown
  environment?: Record<string, string>
  ports?: string[]
  volumes?: string[]
  secrets?: Array<string | { source: string; target: string }>
  depends_on?: Record<string, { condition?: string; required?: boolean }>
  profiles?: string[]
  healthcheck?: { test?: string[] }
}
const compose = parse(readFileSync(`${root}docker-compose.yml`, 'utf8')) as {
  services: Record<string, Service>
  secrets: Record<string, { file: string }>
  volumes: Record<string, unknown>
}
const sluice = compose.services.sluice!
/** `${NAME:-default}` as Compose resolves it with NAME unset. */
const interpolate = (v: string) => String(v).replace(/\$\{\w+:-([^}]*)\}/g, '$1')
const env = Object.fromEntries(
  Object.entries(sluice.environment ?? {}).map(([k, v]) => [k, interpolate(v)]),
)
const pkg = JSON.parse(readFileSync(`${root}package.json`, 'utf8')) as { version: string }

/** Variables the config schema declares, read from its source (the schema is not exported). */
const configSource = readFileSync(`${root}src/config.ts`, 'utf8')
const schema = configSource.slice(configSource.indexOf('z.object({'), configSource.indexOf('\n})'))
const known = new Set([
  ...[...schema.matchAll(/^ {2}([A-Z][A-Z0-9_]+):/gm)].map((m) => m[1]!),
  ...FILE_VARIABLES.map((v) => `${v}_FILE`),
  // The AWS SDK's own variables, which the contract defers to for region and credentials.
  ...['AWS_REGION', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY'],
])

/** The services `docker compose --profile <p> up` starts: those without a profile, and p's. */
const started = (profile: string | null) =>
  Object.entries(compose.services)
    .filter(([, s]) => !s.profiles || (profile !== null && s.profiles.includes(profile)))
    .map(([name]) => name)
    .sort()

t.test('the engine is the image built here, run by its own entry command', async (t) => {
  t.equal(sluice.build, '.')
  t.equal(interpolate(sluice.image!), `sluice:${pkg.version}`, 'tagged with the version')
  t.notOk(sluice.command, 'no command: the image runs node bin/sluice.js start as PID 1')
  const data = sluice.volumes?.find((m) => m.endsWith(`:${env.SLUICE_DATA_DIR}`))
  t.ok(data && data.split(':')[0]! in compose.volumes, 'SLUICE_DATA_DIR is a named volume')
})

t.test('profiles select the backends; the engine waits only for what runs', async (t) => {
  t.same(started(null), ['postgres', 'sluice'], 'plain up: the engine and Postgres')
  t.same(started('rabbitmq'), ['postgres', 'rabbitmq', 'sluice'])
  t.same(started('sqs'), ['postgres', 'sluice', 'sqs'])
  t.same(started('monitoring'), ['grafana', 'postgres', 'prometheus', 'sluice'])
  t.match(sluice.depends_on, { postgres: { condition: 'service_healthy' } })
  for (const broker of ['rabbitmq', 'sqs']) {
    t.match(sluice.depends_on?.[broker], { condition: 'service_healthy', required: false })
  }
  for (const [name, s] of Object.entries(compose.services)) {
    for (const [dep, d] of Object.entries(s.depends_on ?? {})) {
      t.equal(d.condition, 'service_healthy', `${name} waits for ${dep} to be healthy`)
    }
  }
  t.equal(env.SLUICE_BROKER, 'local', 'without SLUICE_BROKER, the local queue (no broker runs)')
  t.equal(new URL(env.SQS_QUEUE_URL!).hostname, 'sqs', 'the SQS queue is the sqs service')
  t.equal(new URL(env.AWS_ENDPOINT_URL_SQS!).hostname, 'sqs')
})

t.test('every service has a healthcheck; the engine asks /readyz', async (t) => {
  for (const [name, s] of Object.entries(compose.services)) {
    t.match(s.healthcheck?.test?.[0], /^CMD(-SHELL)?$/, `${name} has a healthcheck`)
  }
  const check = sluice.healthcheck!.test!.join(' ')
  t.match(check, `http://127.0.0.1:${env.PORT}/readyz`)
  t.match(check, /^CMD node -e /, 'with node: the slim image has no curl')
})

t.test('only the webhook port is public; the rest is on loopback or not published', async (t) => {
  const published = Object.entries(compose.services).flatMap(([name, s]) =>
    (s.ports ?? []).map((p) => ({ name, parts: interpolate(p).split(':') })),
  )
  const open = published.filter((p) => p.parts.length === 2)
  t.same(
    open.map((p) => [p.name, p.parts[1]]),
    [['sluice', env.PORT]],
    'one port on every interface: the webhook port',
  )
  for (const p of published.filter((x) => x.parts.length === 3)) {
    t.equal(p.parts[0], '127.0.0.1', `${p.name} ${p.parts.join(':')} is on the host's loopback`)
  }
  t.ok(published.some((p) => p.name === 'sluice' && p.parts[2] === env.SLUICE_ADMIN_PORT))
  for (const backend of ['postgres', 'rabbitmq', 'sqs']) {
    t.notOk(compose.services[backend]?.ports, `${backend} publishes no port`)
  }
})

t.test('the engine gets only variables its configuration knows, secrets as files', async (t) => {
  for (const name of Object.keys(env)) t.ok(known.has(name), `${name} is a known variable`)
  const names = (s: Service) => (s.secrets ?? []).map((x) => (typeof x === 'string' ? x : x.source))
  for (const name of FILE_VARIABLES) {
    t.notOk(name in env, `${name} is not given as a value`)
    const path = env[`${name}_FILE`]
    t.match(path, /^\/run\/secrets\/[\w.-]+$/, `${name}_FILE names a Compose secret`)
    const secret = path!.split('/').pop()!
    t.ok(names(sluice).includes(secret), `${secret} is mounted into sluice`)
    t.match(compose.secrets[secret], { file: /^\.\/secrets\// })
  }
  t.equal(
    compose.services.postgres?.environment?.POSTGRES_PASSWORD_FILE,
    '/run/secrets/postgres-password',
  )
  t.notOk(
    compose.services.postgres?.environment?.POSTGRES_PASSWORD,
    'no password in the environment',
  )
})

t.test('deploy/compose-secrets.sh makes secrets the services and the config accept', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-compose-secrets-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const secrets = join(dir, 'secrets')
  execFileSync('sh', [`${root}deploy/compose-secrets.sh`, secrets])
  const read = (name: string) => readFileSync(join(secrets, name), 'utf8')
  for (const [name, { file }] of Object.entries(compose.secrets)) {
    const path = join(dir, file)
    t.equal(
      statSync(path).mode & 0o777,
      0o644,
      `${name} (${file}) readable by the container's user`,
    )
  }
  t.equal(statSync(secrets).mode & 0o777, 0o700, 'the directory is private to its owner')
  // The engine's environment with /run/secrets/<name> where Compose mounts it from.
  const mounted = Object.fromEntries(
    Object.entries(env).map(([k, v]) => {
      const secret = /^\/run\/secrets\/(.+)$/.exec(v)?.[1]
      return [k, secret ? join(dir, compose.secrets[secret]!.file) : v]
    }),
  )
  for (const broker of ['local', 'rabbitmq', 'sqs']) {
    const config = loadConfig({ ...mounted, SLUICE_BROKER: broker })
    t.equal(config.SLUICE_BROKER, broker, `valid with SLUICE_BROKER=${broker}`)
  }
  const config = loadConfig(mounted)
  const db = new URL(config.DATABASE_URL!)
  const pg = compose.services.postgres!.environment!
  t.match(db, { hostname: 'postgres', port: '5432', username: pg.POSTGRES_USER })
  t.equal(db.pathname.slice(1), pg.POSTGRES_DB)
  t.equal(db.password, read('postgres-password').trim(), "the URL has Postgres' password")
  const amqp = new URL(config.AMQP_URL)
  t.equal(amqp.hostname, 'rabbitmq')
  t.match(
    read('rabbitmq.conf'),
    `default_user = ${amqp.username}\ndefault_pass = ${amqp.password}\n`,
  )
  t.equal(config.SLUICE_SECRET_KEY?.length, 32)
  t.ok(config.SLUICE_ADMIN_TOKEN?.[0] && config.SLUICE_ADMIN_TOKEN[0].length >= 16)
  const before = read('database-url')
  execFileSync('sh', [`${root}deploy/compose-secrets.sh`, secrets])
  t.equal(read('database-url'), before, 'a rerun keeps the existing secrets')
  t.match(brokerChoice(loadConfig({ ...mounted, SLUICE_BROKER: 'sqs' })), {
    options: { queueUrl: env.SQS_QUEUE_URL, endpoint: env.AWS_ENDPOINT_URL_SQS },
  })
})

t.test('ElasticMQ declares the queue; its crash-loop guard is above the attempts', async (t) => {
  const conf = readFileSync(`${root}docker-compose.yml`, 'utf8')
  const queue = new URL(env.SQS_QUEUE_URL!).pathname.split('/').pop()!
  t.match(conf, new RegExp(`^\\s+${queue} \\{`, 'm'), `ElasticMQ declares ${queue}`)
  t.match(conf, /host = sqs, port = 9324/, 'queue URLs name the service host')
  const dlq = /deadLettersQueue \{ name = "[^"]+", maxReceiveCount = (\d+) \}/.exec(conf)
  t.ok(Number(dlq?.[1]) > Number(env.SLUICE_MAX_ATTEMPTS), 'each retry is a receive')
  // RabbitMQ 4 drops a quorum-queue message after 20 deliveries without a dead-letter exchange.
  t.ok(Number(env.SLUICE_MAX_ATTEMPTS) < 20)
})

failOnLeaks(t)
