import { join } from 'node:path'
import { packageRoot } from '../util/package-root.js'

/** Directory of the numbered SQL migrations. */
export function migrationsDir(): string {
  return join(packageRoot(), 'migrations')
}
