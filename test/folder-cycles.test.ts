import t, { type Test } from 'tap'
import { spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

/**
 * `npm run lint`'s folder-cycle check (scripts/folder-cycles.js) on small trees of its own: a
 * folder cycle made only of type imports through `.js` specifiers (as `module: nodenext` writes
 * them), the same tree without it, and the allow-list, which may only shrink.
 */
const script = fileURLToPath(new URL('../scripts/folder-cycles.js', import.meta.url))
const repo = fileURLToPath(new URL('..', import.meta.url))

function tree(t: Test, files: Record<string, string>) {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-folder-cycles-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const tsconfig = { compilerOptions: { module: 'nodenext', moduleResolution: 'nodenext' } }
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify(tsconfig))
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'p', type: 'module' }))
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true })
    writeFileSync(join(dir, path), text)
  }
  return dir
}

function check(root: string, ...args: string[]) {
  const run = spawnSync(process.execPath, [script, '--root', root, ...args], { encoding: 'utf8' })
  return { status: run.status, stdout: run.stdout, stderr: run.stderr }
}

// No file cycle here (a.ts -> y.ts -> b.ts; b.ts imports nothing of db), only a folder one:
// src/db/a.ts -> src/admin/y.ts -> src/db/b.ts.
const cyclic = {
  'src/db/a.ts': "import type { Y } from '../admin/y.js'\nexport type A = Y\n",
  'src/db/b.ts': 'export interface B { id: string }\n',
  'src/admin/y.ts': "import type { B } from '../db/b.js'\nexport type Y = B\n",
  'src/admin/ui/page.ts': 'export {}\n',
  'src/log.ts': 'export const log = 1\n',
}

t.test('a folder cycle of type imports fails, naming both folders and the files', async (t) => {
  const run = check(tree(t, cyclic))
  t.equal(run.status, 1)
  t.match(run.stderr, 'folder cycle: src/admin <-> src/db')
  t.match(run.stderr, 'src/db -> src/admin: src/db/a.ts imports src/admin/y.ts')
  t.match(run.stderr, 'src/admin -> src/db: src/admin/y.ts imports src/db/b.ts')
})

t.test('the same tree without the back edge passes', async (t) => {
  const run = check(tree(t, { ...cyclic, 'src/db/a.ts': 'export type A = string\n' }))
  t.equal(run.status, 0, run.stderr)
  t.match(run.stdout, 'no folder cycle (1 folder edges checked)')
})

t.test('a cycle through three folders, a re-export and an import() type fails', async (t) => {
  const run = check(
    tree(t, {
      'src/a/x.ts': "export { b } from '../b/x.js'\n",
      'src/b/x.ts': "export const b: import('../../journal/j.js').J = 1\n",
      'journal/j.ts': "export type J = number\nexport const x = await import('../src/a/x.js')\n",
    }),
  )
  t.equal(run.status, 1)
  t.match(run.stderr, 'folder cycle: journal <-> src/a <-> src/b')
})

t.test('files directly in src/ are nodes of their own, not one "src" folder', async (t) => {
  // main.ts -> db -> log.ts is no cycle: main.ts and log.ts are different nodes.
  const run = check(
    tree(t, {
      'src/main.ts': "import { a } from './db/a.js'\nexport const main = a\n",
      'src/log.ts': 'export const log = 1\n',
      'src/db/a.ts': "import { log } from '../log.js'\nexport const a = log\n",
    }),
  )
  t.equal(run.status, 0, run.stderr)
})

t.test('an allowed edge is left out; an allowed edge nothing needs fails', async (t) => {
  const dir = tree(t, cyclic)
  const allow = join(dir, 'allowed.txt')
  writeFileSync(allow, '# removed at merge\nsrc/db -> src/admin\n')
  t.equal(check(dir, '--allow', allow).status, 0, 'the known cycle is allowed')
  writeFileSync(allow, 'src/db -> src/admin\nsrc/admin -> src/log.ts # fixed already\n')
  const stale = check(dir, '--allow', allow)
  t.equal(stale.status, 1)
  t.match(stale.stderr, 'allowed folder edge "src/admin -> src/log.ts" is no longer imported')
})

t.test("Sluice's own tree has no folder cycle beyond its allow-list", async (t) => {
  const run = check(repo)
  t.equal(run.status, 0, run.stderr)
})
