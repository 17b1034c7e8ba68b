/**
 * Child process for test/broker-local.test.ts: publish one event to the local broker in
 * argv[2], take its lease, then die with SIGKILL before settling it (no close, no cleanup).
 */
import { LocalBroker } from '../../src/brokers/local/broker.js'

const dataDir = process.argv[2]!
const broker = new LocalBroker({ dataDir, leaseMs: 500 })
await broker.start()
await broker.publish([
  {
    id: 'crash-1',
    source: 'default',
    receivedAt: 1,
    contentType: 'text/plain',
    headers: {},
    body: Buffer.from('x'),
    verifiedBy: null,
  },
])
await broker.subscribe(
  (d) => {
    process.stdout.write(`leased ${d.event.id} ${d.attempt}\n`)
    process.kill(process.pid, 'SIGKILL')
  },
  { prefetch: 1 },
)
