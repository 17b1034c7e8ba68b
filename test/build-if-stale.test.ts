import t, { type Test } from 'tap'
import { spawnSync } from 'node:child_process'
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  unlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

/**
 * `npm start`'s prestart (scripts/build-if-stale.js) in a small project of its own: its
 * `npm run build` counts its runs in dist/builds.log and stamps like the real one, so each case
 * reads whether a build ran, without a real tsc.
 */
const script = fileURLToPath(new URL('../scripts/build-if-stale.js', import.meta.url))

function project(t: Test, build = 'ok') {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-stale-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  mkdirSync(join(dir, 'scripts'))
  copyFileSync(script, join(dir, 'scripts', 'build-if-stale.js'))
  mkdirSync(join(dir, 'src', 'admin', 'ui'), { recursive: true })
  writeFileSync(join(dir, 'src', 'main.ts'), 'export {}\n')
  writeFileSync(join(dir, 'src', 'admin', 'ui', 'page.ts'), 'export {}\n')
  writeFileSync(join(dir, 'tsconfig.json'), '{}\n')
  const fakeTsc =
    build === 'ok'
      ? "require('fs').mkdirSync('dist',{recursive:true});require('fs').appendFileSync('dist/builds.log','x')"
      : 'process.exit(2)'
  const scripts = { build: `node -e "${fakeTsc}" && node scripts/build-if-stale.js --stamp` }
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'p', type: 'module', scripts }))
  // Every input three minutes old, folders too, so only what a case changes is newer.
  for (const path of ['src', 'src/admin', 'src/admin/ui', 'src/main.ts', 'src/admin/ui/page.ts']) {
    backdate(join(dir, path), 3)
  }
  for (const file of ['tsconfig.json', 'package.json']) backdate(join(dir, file), 3)
  return dir
}

const backdate = (path: string, minutes: number) => {
  const at = new Date(Date.now() - minutes * 60_000)
  utimesSync(path, at, at)
}

/** Run the prestart; the number of builds so far, its exit code and what it said. */
function prestart(dir: string) {
  const run = spawnSync(process.execPath, ['scripts/build-if-stale.js'], {
    cwd: dir,
    encoding: 'utf8',
  })
  const log = join(dir, 'dist', 'builds.log')
  const builds = existsSync(log) ? readFileSync(log, 'utf8').length : 0
  return { builds, status: run.status, stderr: run.stderr }
}

/**
 * The last build two minutes ago (its stamp dated back; nothing else changed, so it is current),
 * then `file` saved one minute ago, when `file` is given.
 */
function builtEarlier(t: Test, dir: string, file?: string) {
  backdate(join(dir, 'dist', '.build-stamp'), 2)
  t.match(prestart(dir).stderr, /not building/, 'current before the change')
  if (file) backdate(join(dir, file), 1)
}

t.test('no stamp builds; unchanged sources do not build again', async (t) => {
  const dir = project(t)
  t.match(prestart(dir), { builds: 1, status: 0, stderr: /building: dist\/ was not built/ })
  t.ok(existsSync(join(dir, 'dist', '.build-stamp')), 'the build left its stamp')
  t.match(prestart(dir), { builds: 1, status: 0, stderr: /dist\/ is current: not building/ })
  t.match(prestart(dir), { builds: 1 }, 'still no build')
})

t.test('a changed source, UI script or tsconfig builds once', async (t) => {
  const dir = project(t)
  prestart(dir)
  let builds = 1
  for (const file of ['src/main.ts', 'src/admin/ui/page.ts', 'tsconfig.json']) {
    builtEarlier(t, dir, file)
    t.match(prestart(dir), { builds: ++builds, stderr: /sources changed/ }, `${file} builds`)
    t.match(prestart(dir), { builds, stderr: /not building/ }, 'and not again')
    backdate(join(dir, file), 3) // as old as the rest again, for the next file
  }
})

t.test('a deleted source builds (its folder changed)', async (t) => {
  const dir = project(t)
  writeFileSync(join(dir, 'src', 'old.ts'), 'export {}\n')
  backdate(join(dir, 'src', 'old.ts'), 3)
  backdate(join(dir, 'src'), 3)
  prestart(dir)
  builtEarlier(t, dir)
  unlinkSync(join(dir, 'src', 'old.ts'))
  t.match(prestart(dir), { builds: 2, stderr: /sources changed/ })
})

t.test('a failed build leaves no stamp: npm start fails, and builds again next time', async (t) => {
  const dir = project(t, 'fail')
  const first = prestart(dir)
  t.not(first.status, 0, 'the prestart fails with the build')
  t.notOk(existsSync(join(dir, 'dist', '.build-stamp')), 'no stamp')
  t.match(prestart(dir), { stderr: /building: dist\/ was not built/ })
})

t.test('an install without sources and without a stamp does not try to build', async (t) => {
  const dir = project(t)
  rmSync(join(dir, 'src'), { recursive: true })
  t.match(prestart(dir), { builds: 0, status: 0, stderr: /not building/ })
})
