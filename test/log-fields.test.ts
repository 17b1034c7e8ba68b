import t, { type Test } from 'tap'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { hostname, tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadConfig } from '../src/config.js'
import { Engine } from '../src/engine.js'
import { relayLog, threadLogger } from '../src/log.js'
import { captureLogger, type LogLine } from './helpers/log-capture.js'
import { freshDatabase } from './helpers/pg.js'
import { until } from './helpers/wait.js'
import { failOnLeaks } from './helpers/leaks.js'

/** Log lines an operator can use: when, where, which version; the configuration, redacted. */
const version = (
  JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
    version: string
  }
).version
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/

function checkFields(t: Test, line: LogLine | undefined, what: string) {
  t.match(line?.time, ISO, `${what}: ISO 8601 time`)
  t.ok(Math.abs(Date.parse(String(line?.time)) - Date.now()) < 600_000, `${what}: a real time`)
  t.equal(line?.hostname, hostname(), `${what}: hostname`)
  t.equal(line?.version, version, `${what}: the package version`)
  t.equal(line?.pid, process.pid, `${what}: pid`)
}

t.test('every line has ISO time, hostname, pid and version, relayed lines too', async (t) => {
  const { logger, lines } = captureLogger('debug')
  logger.child({ component: 'x' }).info({ n: 1 }, 'hello')
  checkFields(t, lines[0], 'own line')
  t.match(lines[0], { component: 'x', n: 1, msg: 'hello', level: 30 })

  // A worker thread's line as threadLogger writes it, relayed by the main thread.
  const posted: string[] = []
  threadLogger('debug', (l) => posted.push(l))
    .child({ component: 'forwarder' })
    .warn({ backlog: 3 }, 'from the thread')
  t.notMatch(posted[0], /"time"|"hostname"|"version"/, 'the thread line carries none itself')
  relayLog(logger, posted[0]!)
  checkFields(t, lines[1], 'relayed line')
  t.match(lines[1], { component: 'forwarder', backlog: 3, msg: 'from the thread', level: 40 })
  t.equal(Object.keys(lines[1]!).filter((k) => k === 'time').length, 1)
})

t.test('the engine logs its configuration with secrets redacted', async (t) => {
  const db = await freshDatabase('sluice_logfields')
  const dir = mkdtempSync(join(tmpdir(), 'sluice-logfields-'))
  const secrets = {
    source: 'source-secret-d41d8cd98f',
    rotated: 'rotated-secret-0cc175b9c0',
    db: 'dbpass-9e107d9d372bb6826bd81d3542a419d6',
    amqp: 'amqppass-e4d909c290d0fb1ca068ffaddf22cbd0',
    admin: 'admin-token-7215ee9c7d9dc229d2921a40e899ec5f',
  }
  const SLUICE_CONFIG = join(dir, 'sources.json')
  writeFileSync(
    SLUICE_CONFIG,
    JSON.stringify({
      sources: {
        signed: { verify: { type: 'github', secret: [secrets.source, secrets.rotated] } },
        limited: { rateLimit: { perSecond: 5, perClient: true } },
      },
    }),
  )
  // Trust authentication on the test server: the password is never checked, only logged.
  const url = new URL(db.url)
  url.password = secrets.db
  const config = loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    SLUICE_ADMIN_PORT: '0',
    SLUICE_ADMIN_TOKEN: secrets.admin,
    SLUICE_DATA_DIR: dir,
    DATABASE_URL: url.toString(),
    AMQP_URL: `amqp://guest:${secrets.amqp}@127.0.0.1:5672/?heartbeat=10`,
    SLUICE_CONFIG,
    SLUICE_TRUSTED_PROXIES: '10.0.0.0/8',
    SLUICE_WORKERS: '1',
  })
  const { logger, lines } = captureLogger()
  const engine = new Engine(config, { logger })
  t.teardown(async () => {
    await engine.close()
    await db.drop()
    rmSync(dir, { recursive: true, force: true })
  })
  await engine.start()
  const configuration = lines.filter((l) => l.msg === 'configuration')
  t.equal(configuration.length, 1, 'one configuration line')
  const line = configuration[0]!
  checkFields(t, line, 'configuration line')
  t.equal(line.level, 30, 'at info')
  const raw = JSON.stringify(line)
  for (const [what, secret] of Object.entries(secrets)) {
    t.notOk(raw.includes(secret), `the ${what} secret is not in the line`)
  }
  const shown = line.config as Record<string, unknown>
  t.match(shown, {
    PORT: 0,
    SLUICE_BROKER: 'local',
    SLUICE_DATA_DIR: dir,
    SLUICE_WORKERS: 1,
    SLUICE_TRUSTED_PROXIES: ['10.0.0.0/8'],
    SLUICE_ADMIN_TOKEN: ['[redacted]'],
    sources: {
      signed: { verify: { type: 'github', secret: '[redacted] (2)' } },
      limited: { rateLimit: { perSecond: 5, perClient: true } },
      default: {},
    },
  })
  const dbShown = new URL(String(shown.DATABASE_URL))
  t.equal(dbShown.password, 'redacted', 'the database password is replaced')
  t.equal(dbShown.pathname, url.pathname, 'the rest of DATABASE_URL is shown')
  t.match(shown.AMQP_URL, /^amqp:\/\/guest:redacted@127\.0\.0\.1:5672\/\?heartbeat=10$/)

  // A line from the pipeline thread, relayed: it carries the same fields.
  await until('the pipeline thread logged', () => lines.some((l) => l.msg === 'pipeline running'))
  checkFields(
    t,
    lines.find((l) => l.msg === 'pipeline running'),
    'pipeline thread line',
  )
})

failOnLeaks(t)
