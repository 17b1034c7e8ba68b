import { fileURLToPath } from 'node:url'
import type { Logger } from '../log.js'
import { loadUws, type UwsBuild, type UwsModule, type UwsSkip } from './uws-loader.js'

import type { TemplatedApp, us_listen_socket } from 'uWebSockets.js'
export type { HttpRequest, HttpResponse, TemplatedApp, us_listen_socket } from 'uWebSockets.js'
export type { UwsBuild } from './uws-loader.js'

// Chosen once per process (and per worker thread that imports this): see uws-loader.ts.
const loaded = await loadUws(fileURLToPath(new URL('.', import.meta.url))).catch(
  (err: unknown) => ({ error: err as Error }),
)

/**
 * The uWebSockets.js module. Without a native build for this Node, every use throws the loader's
 * error (what was tried, what to install), so commands that serve no HTTP still run.
 */
export const uWS: UwsModule =
  'uws' in loaded
    ? loaded.uws
    : new Proxy({} as UwsModule, {
        get() {
          throw loaded.error
        },
      })
/** Which build runs, or null when none loads (then uWS throws). */
export const uwsBuild: UwsBuild | null = 'build' in loaded ? loaded.build : null
/** True when a native build loads (there is no other kind now; kept for importers). */
export const isNativeUws: boolean = uwsBuild !== null
/** The builds tried before it, with why each was not taken. */
export const uwsSkipped: readonly UwsSkip[] = 'skipped' in loaded ? loaded.skipped : []

/**
 * What to expect of a build, from `npm run bench -- ingest` on 2 shared cores, Node 20 native =
 * 1 (docs/node-versions.md has the runs and the commands).
 */
const EXPECTED: Record<string, string> = {
  trufflesuite: 'the reference of the benchmarks (1.0x: uWS 20.30 on Node 20)',
  'uws-pack': 'ingest measured at 1.0x the Node 20 reference (median of 5 runs, spread 0.5-1.4x)',
  official: 'the official build: expect at least the Node 20 reference',
  'btc-vision': 'a repack of the official build: expect the Node 20 reference',
}

export function expectedSpeed(build: UwsBuild): string {
  return EXPECTED[build.id] ?? 'not measured'
}

/** The start-up line naming the build and what to expect of it. */
export function logUwsBuild(logger: Logger): void {
  if (!uwsBuild) return
  const expected = expectedSpeed(uwsBuild)
  logger.info({ uws: uwsBuild, node: process.version, expected }, 'uWebSockets.js build')
}

/** Why a listen fails, said after the address. */
export const NOT_FREE = ": another process listens there, or the address is not this host's"

/** uSockets' LIBUS_LISTEN_EXCLUSIVE_PORT: no SO_REUSEPORT on the listening socket. */
const EXCLUSIVE_PORT = 1

/**
 * Listen on host:port alone. uWS sets SO_REUSEPORT by default, so a second process asking for a
 * port in use is granted it and the kernel splits connections between the two: an admin call
 * could reach another engine (another token, another database) and a misconfigured second
 * engine would take half the webhooks unseen. Refused instead, the start fails and says so.
 * (The typings lack the host + options overload that the native module has.)
 */
export function listenExclusive(
  app: TemplatedApp,
  host: string,
  port: number,
  done: (socket: us_listen_socket | false) => void,
): void {
  const native = app as unknown as {
    listen(
      host: string,
      port: number,
      options: number,
      cb: (socket: us_listen_socket | false) => void,
    ): TemplatedApp
  }
  native.listen(host, port, EXCLUSIVE_PORT, done)
}
