import { mkdtempSync, rmSync } from 'node:fs'
import { randomBytes } from 'node:crypto'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import type { Test } from 'tap'
import type { SubscriptionInput } from '../../src/api/subscription-input.js'
import { upsertSubscription } from '../../src/db/subscriptions.js'
import { SecretBox } from '../../src/util/secret-box.js'
import { generateSecret } from '../../src/outbound/sign.js'
import { EngineChild } from './engine-child.js'
import { freshDatabase, waitForMigrations } from './pg.js'

/**
 * An engine child delivering to loopback on a fresh database and data directory, for tests that
 * kill it with -9: started and migrated, with a pool on its database; `subscribe` adds a
 * subscription and waits out the subscription cache's poll bound. Everything goes at teardown
 * (registered before the caller's, so the caller's receivers close after the engine is gone).
 */
export async function deliveryEngine(
  t: Test,
  name: string,
  env: NodeJS.ProcessEnv = {},
  /** Another server's database (one the test kills); by default a fresh one on the shared server. */
  database?: { url: string; drop(): Promise<void> },
) {
  const db = database ?? (await freshDatabase(name))
  const dataDir = mkdtempSync(join(tmpdir(), `${name}-`))
  const key = randomBytes(32)
  const engine = new EngineChild({
    DATABASE_URL: db.url,
    SLUICE_DATA_DIR: dataDir,
    SLUICE_WORKERS: '2',
    SLUICE_ADMIN_PORT: '0',
    SLUICE_SECRET_KEY: key.toString('hex'),
    SLUICE_OUTBOUND_ALLOW: '127.0.0.0/8',
    // Short, so the leases the killed engine held run out soon; not so short that a loaded
    // machine turns a slow answer into a timeout and a retry (a duplicate the kill did not cause).
    SLUICE_DELIVERY_TIMEOUT_MS: '8000',
    ...env,
  })
  const pool = new pg.Pool({ connectionString: db.url, max: 2 })
  // An idle connection lost when a test kills the server: the next query opens a new one.
  pool.on('error', () => {})
  t.teardown(async () => {
    await engine.kill9()
    await pool.end()
    await db.drop()
    rmSync(dataDir, { recursive: true, force: true })
  })
  await engine.start()
  await waitForMigrations(pool)
  const subscribe = async (input: SubscriptionInput) => {
    await upsertSubscription(pool, new SecretBox(key), input, generateSecret)
    await new Promise((r) => setTimeout(r, 1000)) // the subscription cache's poll bound
  }
  return { engine, pool, subscribe }
}
