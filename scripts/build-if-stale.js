#!/usr/bin/env node
// `npm start`'s prestart: run `npm run build` only when dist/ is older than what it is built
// from, so a start on a current dist/ costs no tsc (tens of seconds on a small machine).
// `--stamp` (the last step of `npm run build`) records a build that succeeded.
// Plain JavaScript: it must run before anything is compiled.
import { spawnSync } from 'node:child_process'
import { existsSync, readdirSync, statSync, utimesSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const stamp = join(root, 'dist', '.build-stamp')
/** What tsconfig.build.json and src/admin/ui/tsconfig.json compile, and their settings. */
const INPUT_DIRS = ['src', 'workers', 'journal', 'bench']
const INPUT_FILE = /^tsconfig.*\.json$|^package(-lock)?\.json$/

/** The newest mtime (ms) under `path`; folders count too, so a deleted or renamed file does. */
function newest(path) {
  const st = statSync(path, { throwIfNoEntry: false })
  if (!st) return 0
  if (!st.isDirectory()) return st.mtimeMs
  let max = st.mtimeMs
  for (const entry of readdirSync(path)) max = Math.max(max, newest(join(path, entry)))
  return max
}

function inputsNewest() {
  const files = readdirSync(root).filter((f) => INPUT_FILE.test(f))
  return Math.max(0, ...[...INPUT_DIRS, ...files].map((p) => newest(join(root, p))))
}

/** Why dist/ needs a build, or null when it is current. */
function staleness() {
  const st = statSync(stamp, { throwIfNoEntry: false })
  if (!st) {
    // An install with dist/ and no sources (a production image) has nothing to build from.
    const sources = INPUT_DIRS.some((d) => existsSync(join(root, d)))
    return sources ? 'dist/ was not built by npm run build' : null
  }
  return inputsNewest() > st.mtimeMs ? 'sources changed since the last build' : null
}

function writeStamp(dateMs) {
  writeFileSync(stamp, `built ${new Date(dateMs).toISOString()}\n`)
  utimesSync(stamp, dateMs / 1000, dateMs / 1000)
}

if (process.argv.includes('--stamp')) {
  writeStamp(Date.now())
} else {
  const why = staleness()
  if (why === null) {
    process.stderr.write('dist/ is current: not building\n')
  } else {
    process.stderr.write(`building: ${why}\n`)
    const started = Date.now()
    const run = spawnSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit' })
    // Dated at the build's start: a source saved while tsc ran makes the next start build again.
    if (run.status === 0) writeStamp(started)
    process.exitCode = run.status ?? 1
  }
}
