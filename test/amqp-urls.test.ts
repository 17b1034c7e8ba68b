import t from 'tap'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import amqp from 'amqplib'
import { ConfigError, loadConfig } from '../src/config.js'
import { configSummary } from '../src/config-summary.js'
import { parseAmqpUrls } from '../src/brokers/rabbitmq/urls.js'
import { RabbitBroker } from '../src/brokers/rabbitmq/broker.js'
import { deleteTopology, queueNames } from '../src/brokers/rabbitmq/topology.js'
import { AMQP_URL, Inbox, makeEvent } from './helpers/broker-fixtures.js'
import { collect, spawnSluice } from './helpers/spawn.js'
import { TcpProxy } from './helpers/tcp-proxy.js'
import { failOnLeaks } from './helpers/leaks.js'
import { until } from './helpers/wait.js'

const dir = mkdtempSync(join(tmpdir(), 'sluice-amqp-urls-'))
t.teardown(() => rmSync(dir, { recursive: true, force: true }))

t.test('AMQP_URL: one URL or a comma-separated list of cluster nodes, in order', async (t) => {
  t.same(parseAmqpUrls('amqp://a:5672'), ['amqp://a:5672'])
  t.same(parseAmqpUrls(' amqp://u:p@a:5672 , amqps://u:p@b/vh,, amqp://c '), [
    'amqp://u:p@a:5672',
    'amqps://u:p@b/vh',
    'amqp://c',
  ])
  const list = 'amqp://u:pw@a:5672,amqp://u:pw@b:5672,amqp://u:pw@c:5672'
  t.equal(loadConfig({ AMQP_URL: list }).AMQP_URL, list, 'kept as written')
})

t.test('a URL amqplib cannot parse is a ConfigError naming AMQP_URL, not a retry', async (t) => {
  for (const bad of [
    'amqp://a:5672,amqp//b:5672',
    'amqp://a:5672,http://b',
    'amqp://a:99999',
    'amqp://u:s3cret@a:5672:5673',
    'amqp://',
    ' , ',
  ]) {
    t.throws(
      () => loadConfig({ AMQP_URL: bad }),
      { name: 'ConfigError', message: /AMQP_URL must be one or more comma-separated amqp/ },
      `'${bad}' is refused`,
    )
  }
  t.throws(() => loadConfig({ AMQP_URL: 'amqp://x:5672,amqp://u:s3cret@y:1:2' }), {
    message: /entry 2, 'amqp:\/\/\[redacted\]@y:1:2'/,
  })
  let message = ''
  try {
    loadConfig({ AMQP_URL: 'amqp://u:s3cret@y:1:2' })
  } catch (err) {
    t.type(err, ConfigError)
    message = (err as Error).message
  }
  t.match(message, /AMQP_URL/)
  t.notMatch(message, /s3cret/, 'the password of a bad URL is not repeated')
})

t.test('AMQP_URL_FILE may hold the list', async (t) => {
  const path = join(dir, 'amqp-url')
  writeFileSync(path, 'amqp://u:s3cret@a:5672,amqp://u:s3cret@b:5672\n', { mode: 0o600 })
  const config = loadConfig({ AMQP_URL_FILE: path })
  t.equal(config.AMQP_URL, 'amqp://u:s3cret@a:5672,amqp://u:s3cret@b:5672')
  writeFileSync(path, 'amqp://a:5672,amqp://b:5672:1\n')
  t.throws(() => loadConfig({ AMQP_URL_FILE: path }), {
    message: new RegExp(`AMQP_URL must be .* \\(read from AMQP_URL_FILE=${path}\\)`),
  })
})

t.test('the start-up summary redacts the password of every URL in the list', async (t) => {
  const config = loadConfig({ AMQP_URL: 'amqp://u:s3cret@a:5672,amqps://v:s3cret@b:5671/vh' })
  const shown = configSummary(config).AMQP_URL as string
  t.notMatch(shown, /s3cret/)
  t.match(shown, /^amqp:\/\/u:redacted@a:5672.*,amqps:\/\/v:redacted@b:5671\/vh$/)
})

t.test('sluice start with a bad URL in the list exits 2 naming AMQP_URL', async (t) => {
  const data = mkdtempSync(join(dir, 'data-'))
  const r = await collect(
    spawnSluice(['start'], {
      SLUICE_DATA_DIR: data,
      SLUICE_BROKER: 'rabbitmq',
      AMQP_URL: 'amqp://127.0.0.1:5672,amqp://127.0.0.1:5673,amqp:/127.0.0.1:5674',
    }),
  )
  t.equal(r.code, 2, 'a configuration error')
  t.match(r.stderr, /AMQP_URL must be one or more comma-separated amqp:\/\/ or amqps:\/\/ URLs/)
  t.match(r.stderr, /entry 3/)
})

/** A port nothing listens on: bound and released. */
async function deadPort(): Promise<number> {
  const s = net.createServer()
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r))
  const port = (s.address() as net.AddressInfo).port
  await new Promise((r) => s.close(r))
  return port
}

t.test(
  'rotation: a refused node is skipped; on losing a node the next one that answers is used, publisher and consumer alike',
  async (t) => {
    const queue = `sluice.rotation-${process.pid}-${Date.now().toString(36)}`
    const dead = await deadPort()
    // Two "nodes" that are the system broker behind two proxies: one can be cut at a time.
    const first = new TcpProxy('127.0.0.1', 5672)
    const second = new TcpProxy('127.0.0.1', 5672)
    await first.start()
    await second.start()
    const url = (port: number) => `amqp://guest:guest@127.0.0.1:${port}`
    const broker = new RabbitBroker({
      url: [url(dead), url(first.port), url(second.port)],
      queue,
      reconnectBaseMs: 100,
      reconnectMaxMs: 1000,
    })
    t.teardown(async () => {
      await broker.close()
      await first.close()
      await second.close()
      const admin = await amqp.connect(AMQP_URL)
      await deleteTopology(await admin.createChannel(), queueNames(queue))
      await admin.close()
    })

    await broker.start()
    t.equal(first.attempts, 1, 'the dead first node was skipped for the next in the list')
    t.equal(second.attempts, 0, 'and the list is tried in order')
    const inbox = await new Inbox(broker).subscribe(10)
    const e1 = makeEvent()
    t.same(await broker.publish([e1]), [true], 'published through the second URL')
    await until('consumed', () => inbox.received.length >= 1)
    await inbox.received[0]!.ack()

    first.cut() // the node in use goes away and stays away
    await until('reconnected', () => second.attempts >= 1 && broker.state() === 'up')
    t.equal(second.attempts, 1, 'the node after the lost one is tried first, and it answers')
    t.equal(first.attempts, 1, 'the lost node was not tried again first')
    const e2 = makeEvent()
    t.same(await broker.publish([e2]), [true], 'publishing through the third URL')
    await until('the consumer follows', () => inbox.received.some((d) => d.event.id === e2.id))
    for (const d of inbox.received.slice(1)) await d.ack().catch(() => {})

    second.cut()
    first.restore()
    // The list wraps around: after the third comes the (dead) first, then the second again.
    await until('back on the second URL', () => broker.state() === 'up' && first.attempts >= 2)
    t.equal(first.attempts, 2, 'the second URL again, once')
    t.equal(second.attempts, 1, 'the lost third was not tried again')
    const e3 = makeEvent()
    t.same(await broker.publish([e3]), [true], 'publishing through the second URL again')
    await until('consumed after the wrap', () => inbox.received.some((d) => d.event.id === e3.id))
    for (const d of inbox.received.slice(2)) await d.ack().catch(() => {})
  },
)

t.test('a node that refuses the login does not stop the walk to the next one', async (t) => {
  const queue = `sluice.rotation-login-${process.pid}-${Date.now().toString(36)}`
  const broker = new RabbitBroker({
    url: ['amqp://nobody:wrong@127.0.0.1:5672', AMQP_URL],
    queue,
  })
  t.teardown(async () => {
    await broker.close()
    const admin = await amqp.connect(AMQP_URL)
    await deleteTopology(await admin.createChannel(), queueNames(queue))
    await admin.close()
  })
  await broker.start()
  t.equal(broker.state(), 'up', 'up through the second URL')
})

failOnLeaks(t)
