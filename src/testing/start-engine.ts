import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { seedEmbeddedDatabase } from './embedded-template.js'
import { baseEnvironment, brokerEnv, type StartEngineOptions } from './engine-env.js'
import { EngineProcess } from './engine-process.js'
import { TestEngine } from './test-engine.js'

/**
 * Start an engine for a test; resolves once it listens and (unless `waitForDatabase` is false)
 * its database is up. It listens on 127.0.0.1 (free ports), may deliver to loopback
 * (SLUICE_OUTBOUND_ALLOW=127.0.0.0/8), and ignores Sluice variables of the calling environment:
 * its configuration is the kit's defaults, the options and `env`.
 */
export async function startEngine(options: StartEngineOptions = {}): Promise<TestEngine> {
  const dataDir = mkdtempSync(join(tmpdir(), 'sluice-testing-'))
  const adminToken =
    options.env?.SLUICE_ADMIN_TOKEN?.split(',')[0] ?? randomBytes(24).toString('hex')
  const env: Record<string, string> = {
    HOST: '127.0.0.1',
    PORT: '0',
    SLUICE_ADMIN_PORT: '0',
    SLUICE_DATA_DIR: dataDir,
    SLUICE_ADMIN_TOKEN: adminToken,
    SLUICE_OUTBOUND_ALLOW: '127.0.0.0/8',
    ...brokerEnv(options.broker ?? { type: 'local' }),
    ...(options.databaseUrl ? { DATABASE_URL: options.databaseUrl } : {}),
    ...options.env,
  }
  // On embedded defaults the engine starts on a copy of a database made once (initdb and the
  // migrations), not on an empty directory that each test's first start would initdb.
  if (!env.DATABASE_URL) {
    await seedEmbeddedDatabase(dataDir, baseEnvironment()).catch((err: unknown) => {
      rmSync(dataDir, { recursive: true, force: true })
      throw err
    })
  }
  const engine = new TestEngine(
    new EngineProcess(env, baseEnvironment()),
    dataDir,
    adminToken,
    options,
  )
  try {
    await engine.start()
  } catch (err) {
    await engine.close()
    throw err
  }
  return engine
}
