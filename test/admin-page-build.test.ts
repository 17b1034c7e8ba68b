import t from 'tap'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { buildPage, operatorPage, transpileUiScript, UI_SCRIPTS } from '../src/admin/page.js'

const root = join(import.meta.dirname, '..')

t.test('the operator page is one document that loads nothing else', async (t) => {
  const html = buildPage('sources')
  t.notMatch(html, /\/\*__(STYLE|SCRIPT)__\*\//, 'both markers replaced')
  t.notMatch(html, /<(script|img|iframe)[^>]*\ssrc=|<link\b|@import|url\(/i, 'no external resource')
  t.match(html, /id="login-form"/, 'the token form')
  t.match(html, /function drawChart\(/, 'the script is inlined')
  t.match(html, /\.badge\.ok\s*\{/, 'the CSS is inlined')
  t.notMatch(html, /^\s*(import|export)\s/m, 'no module syntax left in the inline script')
  t.equal((html.match(/<\/script>/g) ?? []).length, 1, 'the script is not ended early')
  t.equal(operatorPage(), operatorPage(), 'cached')
})

t.test('the build compiles the same code as the on-the-fly path', async (t) => {
  const out = mkdtempSync(join(tmpdir(), 'sluice-ui-build-'))
  t.teardown(() => rmSync(out, { recursive: true, force: true }))
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc')
  execFileSync(process.execPath, [
    tsc,
    '-p',
    join(root, 'src/admin/ui/tsconfig.json'),
    '--outDir',
    out,
  ])
  for (const name of UI_SCRIPTS) {
    t.equal(transpileUiScript(name), readFileSync(join(out, `${name}.js`), 'utf8'), name)
  }
})
