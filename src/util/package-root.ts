import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

let root: string | null = null

/**
 * The package root: the nearest directory above this file whose package.json is Sluice's.
 * Works from the TypeScript sources (src/util/) and from the build (dist/src/util/). It lives in
 * util, below every folder, because the version, the CLI, the page and the thread starters all
 * need it, not only the database.
 */
export function packageRoot(): string {
  if (root) return root
  let dir = dirname(fileURLToPath(import.meta.url))
  for (;;) {
    const pkg = join(dir, 'package.json')
    if (existsSync(pkg)) {
      const name = (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name
      if (name === 'sluice') return (root = dir)
    }
    const up = dirname(dir)
    if (up === dir) throw new Error(`cannot find the sluice package root above ${import.meta.url}`)
    dir = up
  }
}

/** True when this module runs from TypeScript sources (under tap's loader), not from dist/. */
export const runningFromSources = import.meta.url.endsWith('.ts')
