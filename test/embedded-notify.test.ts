import t from 'tap'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { startEmbeddedPostgres } from '../src/db/embedded.js'
import { failOnLeaks } from './helpers/leaks.js'
import { until } from './helpers/wait.js'

// Why the dispatcher does not LISTEN on the embedded database (src/dispatcher/actor.ts): every
// connection of pglite-socket shares PGlite's one session, and a notification comes back only
// on the connection whose statement sent it. If this test starts failing because the listener
// does get it, the embedded dispatcher can LISTEN too.
t.test('pglite-socket hands a NOTIFY only to the connection that sent it', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-embedded-notify-'))
  const db = await startEmbeddedPostgres({ dataDir: dir, maxConnections: 4 })
  const listener = new pg.Client({ connectionString: db.url })
  const sender = new pg.Client({ connectionString: db.url })
  t.teardown(async () => {
    await listener.end()
    await sender.end()
    await db.close()
    rmSync(dir, { recursive: true, force: true })
  })
  await listener.connect()
  await sender.connect()
  const heard = { listener: 0, sender: 0 }
  listener.on('notification', () => heard.listener++)
  sender.on('notification', () => heard.sender++)
  await listener.query('LISTEN sluice_deliveries')
  await sender.query("SELECT pg_notify('sluice_deliveries', '')")
  // The sender hearing it proves the notification was sent and delivered somewhere.
  await until('the notification came back', () => heard.sender > 0, 30_000).catch(() => {})
  await listener.query('SELECT 1') // anything queued for the listener arrives with this answer
  t.equal(heard.sender, 1, 'it comes back to the sender')
  t.equal(heard.listener, 0, 'the listening connection never hears it')
})

failOnLeaks(t)
