import t from 'tap'
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))

/** The documents a reader follows from the README. */
const documents = [
  'README.md',
  'CONTRIBUTING.md',
  'bench/README.md',
  ...readdirSync(join(root, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
]

/** The text outside fenced code blocks, where a `[x](y)` is an example, not a link. */
const prose = (text: string) => text.replace(/^```[\s\S]*?^```/gm, '')

/**
 * The anchors GitHub gives a document's headings: lower case, punctuation dropped, spaces as
 * hyphens, a repeated one suffixed -1, -2, ... (github-slugger's rule, a few lines here rather
 * than a dependency for one test).
 */
function anchors(text: string): Set<string> {
  const seen = new Map<string, number>()
  const out = new Set<string>()
  for (const m of prose(text).matchAll(/^#{1,6} +(.+?) *#*$/gm)) {
    const base = m[1]!
      .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
      .toLowerCase()
      .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
      .replace(/ /g, '-')
    const n = seen.get(base) ?? 0
    seen.set(base, n + 1)
    out.add(n === 0 ? base : `${base}-${n}`)
  }
  return out
}

/** Relative link targets: Markdown `[text](target)` and HTML `src="target"`. */
function links(text: string): string[] {
  const body = prose(text).replace(/`[^`\n]*`/g, '')
  const found = [
    ...[...body.matchAll(/\]\(([^)\s]+)(?: "[^"]*")?\)/g)].map((m) => m[1]!),
    ...[...body.matchAll(/\b(?:src|href)="([^"]+)"/g)].map((m) => m[1]!),
  ]
  return found.filter((l) => !/^[a-z][a-z+.-]*:/i.test(l))
}

t.test('every relative link in the README and the docs resolves, anchors included', async (t) => {
  for (const doc of documents) {
    const text = readFileSync(join(root, doc), 'utf8')
    for (const link of links(text)) {
      const [path = '', anchor] = link.split('#')
      const target = path === '' ? join(root, doc) : join(dirname(join(root, doc)), path)
      const shown = `${doc}: ${link}`
      if (!t.ok(existsSync(target), `${shown} (file)`)) continue
      if (anchor === undefined || !target.endsWith('.md')) continue
      t.ok(anchors(readFileSync(target, 'utf8')).has(anchor), `${shown} (anchor)`)
    }
  }
})

/** Folders made by runs (gitignored), named as where output goes. */
const GENERATED = ['bench/results', 'test/artifacts']

/** Paths of the tree quoted in `code` (the policy table, the layout): they must exist. */
const quotedPath =
  /`((?:src|journal|workers|migrations|test|bench|deploy|scripts|docs|bin|\.ci)\/[\w./*-]*)`/g

t.test(
  'every path of the tree that the README, CONTRIBUTING.md and architecture name exists',
  async (t) => {
    for (const doc of ['README.md', 'CONTRIBUTING.md', 'docs/architecture.md']) {
      const text = readFileSync(join(root, doc), 'utf8')
      const paths = [...text.matchAll(quotedPath)].map((m) => m[1]!)
      // A test file quoted by its name alone (`crash.test.ts`) lives in test/.
      paths.push(...[...text.matchAll(/`([\w-]+\.test\.ts)`/g)].map((m) => `test/${m[1]!}`))
      for (const path of paths) {
        if (path.includes('*')) continue // a glob names a family of files
        if (GENERATED.some((g) => path.startsWith(g))) continue
        const full = join(root, path)
        const isDir = existsSync(full) && statSync(full).isDirectory()
        t.ok(existsSync(full) && (isDir || !path.endsWith('/')), `${doc}: ${path}`)
      }
    }
  },
)
