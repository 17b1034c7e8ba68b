import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { basename, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Stage } from './dockerfile.js'

const root = fileURLToPath(new URL('../..', import.meta.url))
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm'

/**
 * `npm ci --omit=dev` of this checkout's lockfile, once per lockfile and Node version: cached
 * under the temp dir by their hash, so only the first run pays for the install. Install scripts
 * are skipped and better-sqlite3's native build is copied from the checkout instead: it is the
 * same compile for the same Node (what the image's build stage does once), and compiling it
 * again takes minutes on a shared machine. Returns the directory holding node_modules.
 */
export function productionModules(): string {
  const lock = readFileSync(join(root, 'package-lock.json'))
  const key = createHash('sha256')
    .update(lock)
    .update(readFileSync(join(root, 'package.json')))
    .update(`${process.version} ${process.arch}`)
    .digest('hex')
    .slice(0, 16)
  const dir = join(tmpdir(), `sluice-prod-install-${key}`)
  if (existsSync(join(dir, '.complete'))) return dir
  const work = mkdtempSync(join(tmpdir(), 'sluice-prod-install-work-'))
  cpSync(join(root, 'package.json'), join(work, 'package.json'))
  cpSync(join(root, 'package-lock.json'), join(work, 'package-lock.json'))
  execFileSync(npm, ['ci', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund'], {
    cwd: work,
    stdio: 'ignore',
    env: { ...process.env, NODE_ENV: 'production' },
  })
  const native = join('node_modules', 'better-sqlite3', 'build')
  cpSync(join(root, native), join(work, native), { recursive: true })
  writeFileSync(join(work, '.complete'), new Date().toISOString())
  try {
    renameSync(work, dir)
  } catch {
    // Another test run finished the same install first; theirs is as good.
    rmSync(work, { recursive: true, force: true })
  }
  return dir
}

/**
 * The image's build stage, here: its production node_modules and `npm run build`'s output,
 * compiled now from the checkout into a directory of its own (tsc with --outDir, so the
 * checkout's dist/ is neither needed nor touched).
 */
export function buildStage(): string {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-build-stage-'))
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc')
  const compile = (project: string, outDir: string) => {
    try {
      execFileSync(process.execPath, [tsc, '-p', project, '--outDir', outDir], {
        cwd: root,
        stdio: 'pipe',
      })
    } catch (err) {
      // tsc emits despite type errors; only a missing output is this stage failing.
      if (!existsSync(join(outDir, 'src'))) throw err
    }
  }
  compile(join(root, 'tsconfig.build.json'), join(dir, 'dist'))
  compile(join(root, 'src', 'admin', 'ui', 'tsconfig.json'), join(dir, 'dist', 'ui'))
  symlinkSync(join(productionModules(), 'node_modules'), join(dir, 'node_modules'))
  return dir
}

/**
 * The runtime stage's /app: each `COPY --from=build <src...> <dest>` of the Dockerfile applied
 * to the build stage (built files) and the checkout (sources the build stage copied as they
 * are). Returns the WORKDIR's counterpart.
 */
export function assembleRuntime(stage: Stage, built: string): string {
  const app = mkdtempSync(join(tmpdir(), 'sluice-runtime-'))
  const from = (path: string): string => {
    const rel = path.replace(/^\/app\//, '')
    if (rel === path) throw new Error(`COPY from outside /app: ${path}`)
    return existsSync(join(built, rel)) ? join(built, rel) : join(root, rel)
  }
  for (const copy of stage.instructions.filter((i) => i.keyword === 'COPY')) {
    const args = copy.text.split(/\s+/)
    const given = args.pop()!
    const dest = given.replace(/^\.(\/|$)/, '')
    // A destination ending in `/` (or `.`) is a directory keeping each source's name; a source
    // directory is copied as its contents, as Docker does.
    const intoDir = given.endsWith('/') || given === '.'
    for (const src of args) {
      const target = intoDir ? join(app, dest, basename(src)) : join(app, dest)
      mkdirSync(join(target, '..'), { recursive: true })
      cpSync(from(src), target, { recursive: true, dereference: false, verbatimSymlinks: true })
    }
  }
  return app
}
