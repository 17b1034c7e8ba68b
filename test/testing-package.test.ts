import t from 'tap'
import { execFileSync } from 'node:child_process'
import { cpSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { collect } from './helpers/spawn.js'
import { freshDatabase } from './helpers/pg.js'
import { buildStage } from './helpers/production-install.js'
import { spawn } from 'node:child_process'

// `sluice/testing` as a user gets it: the package built into a directory of its own, with
// production dependencies only (no tap), imported by name from plain `node` (no loader, no
// condition): the exports map, the declarations, and the kit running the built engine.
const root = fileURLToPath(new URL('..', import.meta.url))
t.setTimeout(900_000)

t.test(
  'an installed sluice/testing resolves to dist, has types, and runs the built engine',
  async (t) => {
    const pkg = buildStage()
    const db = await freshDatabase('sluice_kit_pkg')
    t.teardown(async () => {
      rmSync(pkg, { recursive: true, force: true })
      await db.drop()
    })
    for (const path of ['package.json', 'bin', 'migrations', join('src', 'admin', 'ui')]) {
      cpSync(join(root, path), join(pkg, path), { recursive: true })
    }
    const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc')
    execFileSync(
      process.execPath,
      [tsc, '-p', 'tsconfig.client.json', '--outDir', join(pkg, 'dist')],
      {
        cwd: root,
      },
    )
    const exports = (
      JSON.parse(readFileSync(join(pkg, 'package.json'), 'utf8')) as {
        exports: Record<string, { types: string; default: string }>
      }
    ).exports['./testing']!
    t.ok(existsSync(join(pkg, exports.types)), `the declarations are at ${exports.types}`)

    const script = join(pkg, 'kit-check.mjs')
    writeFileSync(
      script,
      `import { startEngine, waitForStored } from 'sluice/testing'
const engine = await startEngine({ databaseUrl: process.env.KIT_DATABASE_URL })
try {
  const res = await engine.post({ type: 'kit.package' }, { 'idempotency-key': 'pkg-1' })
  const event = await waitForStored(engine, 'pkg-1')
  const resolved = import.meta.resolve('sluice/testing')
  console.log(JSON.stringify({ resolved, status: res.status, stored: event.id, argv: engine.proc.child.spawnargs }))
} finally {
  await engine.close()
}
`,
    )
    const { NODE_OPTIONS: _, ...env } = process.env
    const run = await collect(
      spawn(process.execPath, [script], {
        cwd: pkg,
        env: { ...env, KIT_DATABASE_URL: db.url },
        stdio: ['ignore', 'pipe', 'pipe'],
      }),
    )
    t.equal(run.code, 0, run.stderr)
    const out = JSON.parse(run.stdout.trim().split('\n').at(-1) ?? '{}') as Record<string, unknown>
    t.equal(out.resolved, pathToFileURL(join(pkg, exports.default)).href, 'by name, to dist')
    t.equal(out.status, 200, 'the built engine acknowledged the post')
    t.equal(out.stored, 'pkg-1', 'and stored it')
    t.same(
      (out.argv as string[]).slice(1),
      [join(pkg, 'bin', 'sluice.js'), 'start'],
      'the kit ran the installed launcher, not the sources',
    )
  },
)
