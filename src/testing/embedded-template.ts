import type { ChildProcess } from 'node:child_process'
import { createHash } from 'node:crypto'
import { createRequire } from 'node:module'
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs'
import { renameSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, sep } from 'node:path'
import { packageRoot } from '../util/package-root.js'
import { spawnSluice } from './spawn.js'

/**
 * An embedded database made once, by `sluice migrate` on a data directory of its own, and copied
 * into each test engine's data directory. A first start otherwise runs initdb (PGlite unpacking
 * and bootstrapping Postgres: many CPU-seconds, minutes on a loaded box) and every migration,
 * once per test; this way once per machine and migration set.
 */
let made: Promise<string> | undefined
const PGLITE = `${sep}@electric-sql${sep}pglite`

/** Copies the template database into `dataDir` (made first when this machine has none). */
export async function seedEmbeddedDatabase(dataDir: string, base: NodeJS.ProcessEnv) {
  made ??= makeTemplate(base).catch((err: unknown) => {
    made = undefined // a later start tries again
    throw err
  })
  cpSync(await made, join(dataDir, 'pg'), { recursive: true })
}

/**
 * One directory per migration set and PGlite version: a template of older migrations, or one
 * another PGlite's data format, is never used.
 */
function templateDir(): string {
  const migrations = readdirSync(join(packageRoot(), 'migrations')).sort().join('\n')
  const entry = createRequire(import.meta.url).resolve('@electric-sql/pglite')
  const home = entry.slice(0, entry.lastIndexOf(PGLITE) + PGLITE.length)
  const { version } = JSON.parse(readFileSync(join(home, 'package.json'), 'utf8')) as {
    version: string
  }
  const key = createHash('sha256').update(`${version}\n${migrations}`).digest('hex').slice(0, 16)
  return join(tmpdir(), `sluice-testing-db-${key}`)
}

async function makeTemplate(base: NodeJS.ProcessEnv): Promise<string> {
  const dir = templateDir()
  const database = join(dir, 'pg')
  if (existsSync(join(database, 'PG_VERSION'))) return database
  // Made aside and renamed into place whole: a template that exists is complete, and of two
  // processes making one at once, the second's rename fails and it uses the first's.
  const work = mkdtempSync(`${dir}.making-`)
  try {
    const child = spawnSluice(['migrate'], { SLUICE_DATA_DIR: work }, base)
    const { code, output } = await finished(child)
    if (code !== 0)
      throw new Error(`sluice migrate made no template database (${code}):\n${output}`)
    try {
      renameSync(work, dir)
    } catch (err) {
      if (!existsSync(join(database, 'PG_VERSION'))) throw err
    }
    return database
  } finally {
    rmSync(work, { recursive: true, force: true })
  }
}

function finished(child: ChildProcess): Promise<{ code: number | null; output: string }> {
  let output = ''
  const keep = (chunk: Buffer) => (output = (output + chunk.toString()).slice(-4000))
  child.stdout?.on('data', keep)
  child.stderr?.on('data', keep)
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, output })))
}
