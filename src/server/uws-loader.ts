import { existsSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { pathToFileURL } from 'node:url'
import type * as UwsTypes from 'uWebSockets.js'

/** The uWebSockets.js API (types from the package installed as `uWebSockets.js`). */
export type UwsModule = typeof UwsTypes

/** The fields of a package.json the loader reads. */
export interface PackageJson {
  name?: string
  version?: string
  main?: string
  exports?: unknown
  repository?: string | { url?: string }
}

/** The build that runs, as the start-up log reports it. */
export interface UwsBuild {
  /** Which candidate: `official`, `trufflesuite`, `btc-vision` or `uws-pack`. */
  id: string
  /** Its package.json's name and version. */
  name: string
  version: string
  /** The folder under node_modules it was found in. */
  installedAs: string
}

/** A build that was tried and not taken, with why (not installed, binary does not load, ...). */
export interface UwsSkip {
  id: string
  reason: string
}

export interface UwsCandidate {
  id: string
  /** The folder under node_modules. */
  installedAs: string
  /** Package identity: is the package found there this build? */
  accepts(pkg: PackageJson): boolean
  /** Throws when the build cannot load natively, before anything prints (see the alias). */
  preflight?(dir: string): void
}

const abiBinary = () => `uws_${process.platform}_${process.arch}_${process.versions.modules}.node`

const repoUrl = (pkg: PackageJson) =>
  typeof pkg.repository === 'string' ? pkg.repository : (pkg.repository?.url ?? '')

const isTrufflesuite = (pkg: PackageJson) => pkg.name === '@trufflesuite/uws-js-unofficial'

/**
 * The order tried. The official package, installed from its GitHub tag under the name
 * `uWebSockets.js` in place of the alias, always wins. Then the alias, but only when its own
 * binary (Node 16/18/20) loads: requiring the package without one prints warnings to stderr and
 * returns its pure-Node fallback, so its binary is loaded first, quietly. Then the registry
 * repacks of the official binaries; a binary needing a newer glibc fails in import(), which
 * says so. Never the fallback: it throws "Not implemented" from req.forEach() and
 * res.getRemoteAddressAsText(), which every ingest calls (docs/node-versions.md).
 */
export const DEFAULT_CANDIDATES: readonly UwsCandidate[] = Object.freeze([
  {
    id: 'official',
    installedAs: 'uWebSockets.js',
    accepts: (pkg) =>
      pkg.name === 'uWebSockets.js' &&
      (repoUrl(pkg) === '' || repoUrl(pkg).includes('uNetworking/uWebSockets.js')),
  },
  {
    id: 'trufflesuite',
    installedAs: 'uWebSockets.js',
    accepts: isTrufflesuite,
    preflight: (dir) => void createRequire(join(dir, 'package.json'))(`./binaries/${abiBinary()}`),
  },
  {
    id: 'btc-vision',
    installedAs: '@btc-vision/uwebsockets.js',
    accepts: (pkg) => pkg.name === '@btc-vision/uwebsockets.js',
  },
  {
    id: 'uws-pack',
    installedAs: 'uws-pack',
    accepts: (pkg) => pkg.name === 'uws-pack',
  },
])

/** `installedAs` in the nearest node_modules at or above `from`, as Node looks packages up. */
function findPackage(from: string, name: string): string | undefined {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'node_modules', name, 'package.json'))) {
      return join(dir, 'node_modules', name)
    }
    if (dirname(dir) === dir) return undefined
  }
}

/**
 * The file import() would load: the `import` (else `default`, `require`) condition of `exports`,
 * else `main`. Enough for these four packages; read from the folder found, because a bare
 * specifier would resolve from this file, not from `from`.
 */
export function entryOf(pkg: PackageJson): string {
  const pick = (v: unknown): string | undefined => {
    if (typeof v === 'string') return v
    if (v === null || typeof v !== 'object') return undefined
    const c = v as Record<string, unknown>
    return pick(c['.']) ?? pick(c.import) ?? pick(c.default) ?? pick(c.require)
  }
  return pick(pkg.exports) ?? pkg.main ?? 'index.js'
}

const isNative = (mod: UwsModule) => typeof (mod as { getParts?: unknown }).getParts === 'function'

const message = (err: unknown) => (err instanceof Error ? err.message : String(err)).split('\n')[0]

/**
 * Load the first candidate that is installed, is the package it claims to be, and loads with its
 * native binary. Throws, listing why each failed, if none does.
 */
export async function loadUws(
  from: string,
  candidates: readonly UwsCandidate[] = DEFAULT_CANDIDATES,
): Promise<{ uws: UwsModule; build: UwsBuild; skipped: UwsSkip[] }> {
  const skipped: UwsSkip[] = []
  for (const c of candidates) {
    const dir = findPackage(from, c.installedAs)
    if (!dir) {
      skipped.push({ id: c.id, reason: `${c.installedAs} is not installed` })
      continue
    }
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as PackageJson
    if (!c.accepts(pkg)) {
      skipped.push({ id: c.id, reason: `${c.installedAs} is ${pkg.name}@${pkg.version}` })
      continue
    }
    try {
      c.preflight?.(dir)
      const ns = (await import(pathToFileURL(join(dir, entryOf(pkg))).href)) as {
        default?: UwsModule
      }
      // CommonJS and the official ESM wrapper export the module as default; uws-pack only names.
      const uws = ns.default ?? (ns as unknown as UwsModule)
      // Only the native module has getParts (the alias returns its fallback with UWS_USE_FALLBACK).
      if (!isNative(uws)) throw new Error('loaded without its native binary')
      const build = { id: c.id, name: pkg.name ?? c.installedAs, version: pkg.version ?? '?' }
      return { uws, build: { ...build, installedAs: c.installedAs }, skipped }
    } catch (err) {
      skipped.push({ id: c.id, reason: message(err) ?? 'failed to load' })
    }
  }
  const why = skipped.map((s) => `${s.id}: ${s.reason}`).join('; ')
  const where = `Node ${process.version} (${process.platform}-${process.arch}, ABI ${process.versions.modules})`
  throw new Error(
    `no native uWebSockets.js loads on ${where}: ${why}. Install the official one ` +
      '(npm install uNetworking/uWebSockets.js#v20.x.0, x its latest release) or run a Node ' +
      'listed in docs/node-versions.md',
  )
}
