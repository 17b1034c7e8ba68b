import { parentPort, workerData } from 'node:worker_threads'
import Database from 'better-sqlite3'
import { Rpc } from '../src/actors/rpc.js'
import type { HostApi } from '../src/actors/thread-host.js'
import { nameThread } from '../src/actors/thread-self.js'
import type { CheckpointerApi } from './checkpointer.js'

nameThread('sluice-checkpt')

// Checkpointer thread: copies committed WAL frames into the main database file with PASSIVE
// checkpoints, which never block the writer. Without it the writer's own auto-checkpoint would
// copy tens of MB inside some unlucky commit and stall every request waiting on it.
const { path, intervalMs } = workerData as { path: string; intervalMs: number }
const port = parentPort
if (!port) throw new Error('checkpoint-worker.ts must run as a worker thread')
const db = new Database(path, { fileMustExist: true })
db.pragma('busy_timeout = 0')
const timer = setInterval(() => {
  try {
    db.pragma('wal_checkpoint(PASSIVE)')
  } catch {
    // Busy or transient I/O error: the next tick tries again; the writer's auto-checkpoint
    // remains as a backstop so the WAL cannot grow without bound.
  }
}, intervalMs)
const actor: CheckpointerApi = {
  close: () => {
    clearInterval(timer)
    db.close()
    // Nothing of ours is left on this thread's loop: let it end.
    port.unref()
  },
}
new Rpc<HostApi>(port, actor).cast.started()
