#!/usr/bin/env node
// Fails (exit 1) when two folders import each other, directly or through other folders: eslint's
// import-x/no-cycle sees file cycles only, and a folder cycle hides behind acyclic files
// (db/a.ts -> admin/b.ts -> db/c.ts). Run by `npm run lint`.
//
// A node is a folder directly under src/ (src/admin, with src/admin/ui in it), journal/ or
// workers/. Each file directly in src/ is a node of its own: they are the composition roots
// (engine.ts, main.ts, cli.ts) and the leaves everything uses (log.ts, errors.ts), so one "src"
// node would put a root and a leaf together and report a cycle for every folder the root wires.
//
// Imports are resolved by the TypeScript compiler with the project's tsconfig.json, so the `.js`
// specifiers of `module: nodenext` find their `.ts` files exactly as tsc does. `import type`,
// `export ... from`, `import()` and `import('x').T` types count: a type cycle is a cycle.
//
// Usage: node scripts/folder-cycles.js [--root DIR] [--allow FILE]
// --allow names a file of folder edges to leave out ("src/db -> src/admin", `#` comments); an
// entry that no import needs any more fails too, so the list shrinks as cycles are fixed.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { join, relative, resolve, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import ts from 'typescript'

const ROOTS = ['src', 'journal', 'workers']

function parseArgs(argv) {
  const args = { root: fileURLToPath(new URL('..', import.meta.url)), allow: null }
  for (let i = 0; i < argv.length; i += 2) {
    if (argv[i] === '--root') args.root = resolve(argv[i + 1] ?? '')
    else if (argv[i] === '--allow') args.allow = resolve(argv[i + 1] ?? '')
    else throw new Error(`unknown argument ${argv[i]}; usage: [--root DIR] [--allow FILE]`)
  }
  args.allow ??= join(args.root, 'scripts', 'folder-cycles-allowed.txt')
  return args
}

/** Every .ts file under `dir` (declaration files aside). */
function tsFiles(dir) {
  if (!existsSync(dir)) return []
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) return name === 'node_modules' ? [] : tsFiles(path)
    return name.endsWith('.ts') && !name.endsWith('.d.ts') ? [path] : []
  })
}

/** The node a file belongs to, or null for files outside the checked folders. */
function nodeOf(root, file) {
  const parts = relative(root, file).split(sep)
  if (!ROOTS.includes(parts[0]) || parts.length < 2) return null
  if (parts[0] !== 'src') return parts[0]
  return parts.slice(0, 2).join('/')
}

/** The module specifiers a file names: imports, re-exports, import() calls and import types. */
function specifiers(file) {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest)
  const found = []
  const visit = (node) => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier) {
      if (ts.isStringLiteral(node.moduleSpecifier)) found.push(node.moduleSpecifier.text)
    } else if (ts.isImportTypeNode(node)) {
      const arg = node.argument
      if (ts.isLiteralTypeNode(arg) && ts.isStringLiteral(arg.literal)) found.push(arg.literal.text)
    } else if (
      ts.isCallExpression(node) &&
      node.expression.kind === ts.SyntaxKind.ImportKeyword &&
      node.arguments[0] &&
      ts.isStringLiteral(node.arguments[0])
    ) {
      found.push(node.arguments[0].text)
    }
    ts.forEachChild(node, visit)
  }
  visit(source)
  return found
}

function compilerOptions(root) {
  const parsed = ts.getParsedCommandLineOfConfigFile(
    join(root, 'tsconfig.json'),
    {},
    {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (d) => {
        throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'))
      },
    },
  )
  return parsed.options
}

/** Folder edges: "from -> to" mapped to the first file import that makes it. */
function folderEdges(root) {
  const options = compilerOptions(root)
  const edges = new Map()
  for (const file of ROOTS.flatMap((r) => tsFiles(join(root, r)))) {
    const from = nodeOf(root, file)
    for (const spec of specifiers(file)) {
      const hit = ts.resolveModuleName(spec, file, options, ts.sys).resolvedModule
      if (!hit || hit.isExternalLibraryImport) continue
      const to = nodeOf(root, resolve(hit.resolvedFileName))
      if (!to || to === from) continue
      const key = `${from} -> ${to}`
      if (!edges.has(key)) {
        const target = relative(root, hit.resolvedFileName).split(sep).join('/')
        edges.set(key, `${relative(root, file).split(sep).join('/')} imports ${target}`)
      }
    }
  }
  return edges
}

/** Strongly connected components of more than one node (Tarjan). */
function cycles(edges) {
  const next = new Map()
  for (const key of edges.keys()) {
    const [from, to] = key.split(' -> ')
    next.set(from, [...(next.get(from) ?? []), to])
    if (!next.has(to)) next.set(to, [])
  }
  const index = new Map()
  const low = new Map()
  const stack = []
  const onStack = new Set()
  const found = []
  const connect = (v) => {
    index.set(v, index.size)
    low.set(v, index.get(v))
    stack.push(v)
    onStack.add(v)
    for (const w of next.get(v)) {
      if (!index.has(w)) connect(w)
      if (onStack.has(w)) low.set(v, Math.min(low.get(v), low.get(w)))
    }
    if (low.get(v) !== index.get(v)) return
    const component = []
    let w
    do {
      w = stack.pop()
      onStack.delete(w)
      component.push(w)
    } while (w !== v)
    if (component.length > 1) found.push(component.sort())
  }
  for (const v of [...next.keys()].sort()) if (!index.has(v)) connect(v)
  return found
}

function readAllowed(file) {
  if (!existsSync(file)) return []
  return readFileSync(file, 'utf8')
    .split('\n')
    .map((line) => line.replace(/#.*/, '').trim())
    .filter(Boolean)
    .map((line) => line.split(/\s*->\s*/).join(' -> '))
}

function main() {
  const args = parseArgs(process.argv.slice(2))
  const edges = folderEdges(args.root)
  const allowed = readAllowed(args.allow)
  const stale = allowed.filter((edge) => !edges.has(edge))
  for (const edge of allowed) edges.delete(edge)
  const found = cycles(edges)
  for (const component of found) {
    console.error(`folder cycle: ${component.join(' <-> ')}`)
    const members = new Set(component)
    for (const [key, example] of edges) {
      const [from, to] = key.split(' -> ')
      if (members.has(from) && members.has(to)) console.error(`  ${key}: ${example}`)
    }
  }
  for (const edge of stale) {
    console.error(`allowed folder edge "${edge}" is no longer imported: remove it from the list`)
  }
  if (found.length || stale.length) process.exit(1)
  console.log(`folder-cycles: no folder cycle (${edges.size} folder edges checked)`)
}

main()
