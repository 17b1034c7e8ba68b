import type { SourceConfig } from './schema.js'
import type { IngestSource } from './types.js'

export type { IngestSource } from './types.js'

/**
 * Build the runtime sources from SLUICE_CONFIG. Placeholder until verification and rate
 * limits land: every source admits everything and verifies nothing.
 */
export function buildSources(sources: Record<string, SourceConfig>): Map<string, IngestSource> {
  const map = new Map<string, IngestSource>()
  for (const name of Object.keys(sources)) {
    map.set(name, {
      name,
      admit: () => null,
      verify: () => ({ ok: true, verifiedBy: null }),
    })
  }
  return map
}
