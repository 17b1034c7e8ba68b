// A broker outage, end to end, with `sluice/testing`: copy this file into your project and
// adapt it. It needs RabbitMQ on 127.0.0.1:5672 (guest/guest); the engine stores into an
// embedded Postgres in its temporary data directory, so it needs no database of its own.
import t from 'tap'
import { deleteRabbitQueues, faultProxy, startEngine, until, waitForStored } from 'sluice/testing'

const RABBITMQ = 'amqp://guest:guest@127.0.0.1:5672'
const EVENTS = 20

t.test('webhooks accepted while RabbitMQ is cut off are stored once it is back', async (t) => {
  // A queue of this test's own, so it runs beside other tests on the same RabbitMQ.
  const queue = `example.broker-outage.${process.pid}.${Date.now().toString(36)}`
  t.teardown(() => deleteRabbitQueues(RABBITMQ, queue))

  // The engine reaches RabbitMQ only through the proxy, which the test cuts and restores.
  const proxy = await faultProxy({ target: { host: '127.0.0.1', port: 5672 } })
  t.teardown(() => proxy.close())
  const engine = await startEngine({
    broker: { type: 'rabbitmq', url: `amqp://guest:guest@127.0.0.1:${proxy.port}`, queue },
  })
  t.teardown(() => engine.close())

  // One event before the outage: the pipeline is up, end to end.
  t.equal(
    (await engine.post({ type: 'example.before' }, { 'idempotency-key': 'before' })).status,
    200,
  )
  await waitForStored(engine, 'before')

  proxy.cut()
  // The senders keep getting 200s: each event is on the engine's disk, waiting for the broker.
  const ids = Array.from({ length: EVENTS }, (_, i) => `outage-${i}`)
  for (const id of ids) {
    const res = await engine.post({ type: 'example.outage', id }, { 'idempotency-key': id })
    t.equal(res.status, 200, `${id} acknowledged during the outage`)
  }
  // Nothing gets through while cut: the engine has tried the broker again, and still not one of
  // them is stored.
  const tried = proxy.attempts
  await until(
    'the engine tried to reach the broker during the outage',
    () => proxy.attempts > tried,
  )
  const stored = await engine.client.listEvents({ type: 'example.outage', limit: '100' })
  t.equal(stored.data.length, 0, 'no event of the outage is stored while the broker is cut off')

  proxy.restore()
  for (const id of ids) await waitForStored(engine, id, { timeoutMs: 120_000 })
  const after = await engine.client.listEvents({ type: 'example.outage', limit: '100' })
  t.same(
    after.data.map((e) => e.id).sort(),
    [...ids].sort(),
    'every event acknowledged during the outage is stored',
  )
  t.equal(await engine.stop(), 0, 'the engine stops cleanly')
})
