import { parentPort, workerData } from 'node:worker_threads'
import { unpackBatch } from './codec.js'
import { WriterCore } from './writer-core.js'
import type { WriterRequest, WriterReply } from './worker-protocol.js'
import type { WriterSpec } from './writer.js'
import { nameThread } from '../src/actors/thread-self.js'

nameThread('sluice-journal')

// The journal writer actor: the only owner of the write connection. Requests are handled one
// at a time in arrival order (a synchronous handler cannot interleave), so a reply to a commit
// means that transaction returned (and was fsync'd with synchronous=FULL).
const port = parentPort
if (!port) throw new Error('writer-worker.ts must run as a worker thread')
const spec = workerData as WriterSpec
let core: WriterCore
try {
  core = new WriterCore(spec.path, spec.sync)
  port.postMessage({ n: 0, ok: true } satisfies WriterReply)
} catch (err) {
  port.postMessage({ n: 0, ok: false, message: (err as Error).message } satisfies WriterReply)
  process.exit(1)
}

port.on('message', (req: WriterRequest) => {
  let reply: WriterReply
  try {
    switch (req.op) {
      case 'commit':
        reply = { n: req.n, ok: true, result: core.commit(unpackBatch(req.batch)) }
        break
      case 'mark':
        reply = { n: req.n, ok: true, deleted: core.markForwarded(req.seqs) }
        break
      case 'compact':
        core.compact()
        reply = { n: req.n, ok: true }
        break
      case 'recover':
        core.recover()
        reply = { n: req.n, ok: true }
        break
      case 'close':
        core.close()
        reply = { n: req.n, ok: true }
        port.postMessage(reply)
        port.close()
        return
    }
  } catch (err) {
    const e = err as Error & { code?: string }
    reply = { n: req.n, ok: false, message: e.message, code: e.code }
  }
  port.postMessage(reply)
})
