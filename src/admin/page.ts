import { existsSync, readFileSync, statSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { packageRoot, runningFromSources } from '../util/package-root.js'

/**
 * The operator page's browser scripts (src/admin/ui/*.ts), in the order they are joined. They
 * are plain scripts without import/export that share one scope (src/admin/ui/tsconfig.json
 * type-checks them together), so the page needs no bundler: the scripts are concatenated into
 * one function scope. Each only declares, except main.ts, last, which starts the page.
 */
export const UI_SCRIPTS = [
  'dom',
  'api',
  'chart',
  'status',
  'dead-letters',
  'events',
  'event-detail',
  'subscriptions',
  'deliveries',
  'delivery-detail',
  'replay',
  'main',
] as const
export type UiScript = (typeof UI_SCRIPTS)[number]
const STYLES = ['style', 'tables', 'deliveries']

let page: string | null = null

const uiDir = (root: string): string => join(root, 'src', 'admin', 'ui')

/**
 * The complete HTML of `GET /` on the admin listener: one document with its CSS and script
 * inlined, loading nothing else (the edge reaches no CDN). It holds no data: it asks the API
 * with the token the operator types. Built on the first call, then cached.
 */
export function operatorPage(): string {
  page ??= buildPage(runningFromSources ? 'fresher' : 'build')
  return page
}

/**
 * `build`: the scripts tsc compiled into dist/ui (`npm run build` made them with this file).
 * `fresher`: per script, dist/ui when it is newer than its source, else the source transpiled
 * now (tests run the sources without building first). `sources`: always transpile.
 */
export type ScriptOrigin = 'build' | 'fresher' | 'sources'

export function buildPage(origin: ScriptOrigin): string {
  const root = packageRoot()
  const ui = uiDir(root)
  const css = STYLES.map((name) => readFileSync(join(ui, `${name}.css`), 'utf8')).join('\n')
  const scripts = UI_SCRIPTS.map((name) => script(root, name, origin)).join('\n')
  const js = `;(() => {\n'use strict'\n${scripts}\n})()\n`
  // Inline code must not end its own element early (the HTML parser ends it at the first `</`).
  for (const [what, text] of [
    ['script', js],
    ['style', css],
  ] as const) {
    if (/<\/(script|style)/i.test(text)) throw new Error(`the operator page's ${what} holds '</'`)
  }
  // Functions as replacements: `$&` and the like in the code must stay literal.
  return readFileSync(join(ui, 'page.html'), 'utf8')
    .replace('/*__STYLE__*/', () => css)
    .replace('/*__SCRIPT__*/', () => js)
}

function script(root: string, name: UiScript, origin: ScriptOrigin): string {
  const source = join(uiDir(root), `${name}.ts`)
  const built = join(root, 'dist', 'ui', `${name}.js`)
  if (origin === 'build') return readFileSync(built, 'utf8')
  const fresh =
    origin === 'fresher' && existsSync(built) && statSync(built).mtimeMs >= statSync(source).mtimeMs
  return fresh ? readFileSync(built, 'utf8') : transpileUiScript(name)
}

/** One browser script compiled now, with the options of src/admin/ui/tsconfig.json. */
export function transpileUiScript(name: UiScript): string {
  // Loaded here only: typescript is a devDependency, there where the sources run (tests, dev);
  // the engine from dist/ never gets here. createRequire keeps operatorPage() synchronous.
  const ts = createRequire(import.meta.url)('typescript') as typeof import('typescript')
  const dir = uiDir(packageRoot())
  const fileName = join(dir, `${name}.ts`)
  const tsconfig = ts.readConfigFile(join(dir, 'tsconfig.json'), (f) => ts.sys.readFile(f))
  if (tsconfig.error)
    throw new Error(ts.flattenDiagnosticMessageText(tsconfig.error.messageText, '\n'))
  const raw = (tsconfig.config as { compilerOptions: unknown }).compilerOptions
  const { options } = ts.convertCompilerOptionsFromJson(raw, dir)
  return ts.transpileModule(readFileSync(fileName, 'utf8'), { fileName, compilerOptions: options })
    .outputText
}
