/** Options of the journal-to-broker forwarder. */
export interface ForwarderOptions {
  /** Journal entries per publish call. @defaultValue 256 */
  batchSize?: number
  /** Publish calls awaiting confirmation at once; the broker adapter bounds its own window too. @defaultValue 4 */
  maxInFlight?: number
  /** How long to wait for new entries when the journal is drained, unless notify() comes first. @defaultValue 100 */
  idlePollMs?: number
  /** First retry delay after the broker refused or failed a publish. @defaultValue 100 */
  retryBaseMs?: number
  /** Longest retry delay while the broker stays down. @defaultValue 5000 */
  retryCapMs?: number
  /**
   * While ingest keeps the HTTP thread busy (setIngestBusy), entries are held back until the
   * oldest is this old, so a burst goes into the journal at ingest speed and is forwarded after
   * it; 0 never holds back (SLUICE_BURST_LAG_MS). @defaultValue 0
   */
  burstLagMs?: number
}

export const forwarderDefaults: Readonly<Required<ForwarderOptions>> = Object.freeze({
  batchSize: 256,
  maxInFlight: 4,
  idlePollMs: 100,
  retryBaseMs: 100,
  retryCapMs: 5000,
  burstLagMs: 0,
})

export function resolveForwarderOptions(
  options: ForwarderOptions = {},
): Required<ForwarderOptions> {
  const resolved = { ...forwarderDefaults, ...options }
  for (const key of Object.keys(forwarderDefaults) as Array<keyof ForwarderOptions>) {
    const value = resolved[key]
    const min = key === 'burstLagMs' ? 0 : 1
    if (!Number.isInteger(value) || value < min) {
      throw new TypeError(
        `options.${key} must be a ${min === 0 ? 'non-negative' : 'positive'} integer`,
      )
    }
  }
  if (resolved.retryCapMs < resolved.retryBaseMs) {
    throw new TypeError('options.retryCapMs must not be less than options.retryBaseMs')
  }
  return resolved
}
