import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { pino } from 'pino'
import type { Test } from 'tap'
import { loadConfig } from '../../src/config.js'
import { Engine } from '../../src/engine.js'
import { freshDatabase } from './pg.js'
import { until } from './wait.js'

/** A test's view of one admin answer. */
export interface AdminAnswer {
  status: number
  headers: Headers
  text: string
  /** The body parsed as JSON (null for an empty or non-JSON body). */
  json: unknown
}

/**
 * An engine in this process on a fresh database (local broker unless `env` says otherwise),
 * with its admin listener on a free port, the whole pipeline up, and everything closed by the
 * test's teardown. `call` speaks to the admin API with `token` unless told otherwise.
 */
export async function startAdminEngine(
  t: Test,
  env: Record<string, string>,
  token: string | null = env.SLUICE_ADMIN_TOKEN?.split(',')[0] ?? null,
) {
  const db = await freshDatabase('sluice_admin')
  const dir = mkdtempSync(join(tmpdir(), 'sluice-admin-'))
  const engine = new Engine(
    loadConfig({
      PORT: '0',
      HOST: '127.0.0.1',
      SLUICE_ADMIN_PORT: '0',
      SLUICE_DATA_DIR: dir,
      DATABASE_URL: db.url,
      SLUICE_WORKERS: '1',
      ...env,
    }),
    { logger: pino({ level: process.env.DEBUG_LOG ? 'debug' : 'silent' }) },
  )
  const pool = new pg.Pool({ connectionString: db.url, max: 2 })
  t.teardown(async () => {
    await engine.close()
    await pool.end()
    await db.drop()
    rmSync(dir, { recursive: true, force: true })
  })
  await engine.start()
  await engine.pipeline.ready()
  // The pipeline never waits for the dispatcher thread (ingest does not need it). On a loaded
  // machine, under tap's TypeScript loader, that thread took 20-30 s to run (CI beside two
  // CPU-bound processes), longer than the tests' waits for a delivery: wait for it here.
  let seen = ''
  await until(
    'the dispatcher thread runs (or is idle: on demand, no subscription)',
    async () => {
      const dispatcher = (await engine.pipeline.readiness()).dispatcher
      seen = JSON.stringify(dispatcher)
      return dispatcher?.state === 'up' || dispatcher?.state === 'idle'
    },
    300_000,
    100,
    () => seen,
  )
  const admin = `http://127.0.0.1:${engine.adminPort}`
  const call = async (
    method: string,
    path: string,
    opts: { body?: string | object; token?: string | null } = {},
  ): Promise<AdminAnswer> => {
    const bearer = opts.token === undefined ? token : opts.token
    const body = typeof opts.body === 'object' ? JSON.stringify(opts.body) : opts.body
    const res = await fetch(`${admin}${path}`, {
      method,
      headers: {
        ...(bearer ? { authorization: `Bearer ${bearer}` } : {}),
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(body !== undefined ? { body } : {}),
    })
    const text = await res.text()
    const isJson = res.headers.get('content-type')?.includes('json') && text !== ''
    return {
      status: res.status,
      headers: res.headers,
      text,
      json: isJson ? JSON.parse(text) : null,
    }
  }
  return {
    engine,
    pool,
    databaseUrl: db.url,
    dir,
    admin,
    call,
    webhook: `http://127.0.0.1:${engine.port}/webhook`,
  }
}
