/** The child of fsync-probe.ts: `node fsync-probe-child.js <seconds> <dir>`, prints FsyncLatency. */
import { closeSync, fdatasyncSync, openSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { percentile } from '../outbound/latency.js'

const seconds = Number(process.argv[2])
const fd = openSync(join(process.argv[3] ?? '.', 'probe'), 'w')
const page = Buffer.alloc(8192, 1)
const ms: number[] = []
for (const end = Date.now() + seconds * 1000; Date.now() < end; await sleep(5)) {
  const start = process.hrtime.bigint()
  writeSync(fd, page)
  fdatasyncSync(fd)
  ms.push(Number(process.hrtime.bigint() - start) / 1e6)
}
closeSync(fd)
// A typed array sorts numerically (an Array's sort() compares strings).
const sorted = Float64Array.from(ms).sort()
const at = (q: number) => Number((percentile(sorted, q) ?? 0).toFixed(2))
process.stdout.write(
  JSON.stringify({ samples: ms.length, p50: at(0.5), p99: at(0.99), p99_9: at(0.999), max: at(1) }),
)
