import { readFileSync } from 'node:fs'
import { hostname } from 'node:os'
import { join } from 'node:path'
import { packageRoot } from './util/package-root.js'

let version: string | null = null

/** Sluice's version from its package.json (read once), as logs and sluice_build_info show it. */
export function packageVersion(): string {
  version ??= (
    JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string }
  ).version
  return version
}

/** Fields every log line carries, so lines from several nodes can be told apart and dated. */
export function processFields(): { pid: number; hostname: string; version: string } {
  return { pid: process.pid, hostname: hostname(), version: packageVersion() }
}
