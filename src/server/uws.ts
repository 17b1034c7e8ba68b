import { fileURLToPath } from 'node:url'
import type { Logger } from '../log.js'
import { loadUws, type UwsBuild, type UwsSkip } from './uws-loader.js'

export type { HttpRequest, HttpResponse, TemplatedApp, us_listen_socket } from 'uWebSockets.js'
export type { UwsBuild } from './uws-loader.js'

// Chosen once per process (and per worker thread that imports this): see uws-loader.ts.
const loaded = await loadUws(fileURLToPath(new URL('.', import.meta.url)))

export const uWS = loaded.uws
/** Which build runs: name, version, native or not. */
export const uwsBuild: UwsBuild = loaded.build
/** The builds tried before it, with why each was not taken. */
export const uwsSkipped: readonly UwsSkip[] = loaded.skipped
/** False when the pure-Node fallback runs: no native binary for this Node ABI and platform. */
export const isNativeUws: boolean = loaded.build.native

/**
 * What to expect of this build, from `npm run bench -- ingest` (docs/node-versions.md has the
 * runs): every native build runs the same uWS C++ core; the fallback is a Node `http` server.
 */
export function expectedSpeed(build: UwsBuild): string {
  return build.native
    ? 'native: ingest at benchmark speed (about 20,000 req/s of 5 KB on 2 cores)'
    : 'pure-Node fallback: ingest at about a third of native speed; install the official uWebSockets.js (docs/node-versions.md)'
}

/** The start-up line naming the build (a warning for the fallback). */
export function logUwsBuild(logger: Logger): void {
  const fields = { uws: uwsBuild, node: process.version, expected: expectedSpeed(uwsBuild) }
  if (uwsBuild.native) {
    logger.info(fields, 'uWebSockets.js build')
  } else {
    logger.warn({ ...fields, tried: uwsSkipped }, 'uWebSockets.js runs its slow pure-Node fallback')
  }
}
