export interface LocalBrokerOptions {
  /** Directory holding `queue.db` (SLUICE_DATA_DIR). Required. */
  dataDir: string
  /**
   * How long a delivery stays leased to its consumer; a lease the holder does not extend (it
   * crashed) expires and the message is delivered again. Held leases are extended every third
   * of this.
   * @defaultValue 30000
   */
  leaseMs?: number
  /** Poll interval when the queue is idle; publishes and acks in-process wake the loop at once. @defaultValue 50 */
  pollIntervalMs?: number
  /** SQLite `synchronous` for the queue file: `full` survives power loss, `normal` a process crash. @defaultValue 'full' */
  synchronous?: 'full' | 'normal'
  /** Largest event accepted (SQLite blobs go to 1 GB; this bounds memory). @defaultValue 67108864 */
  maxEventBytes?: number
}

export const localBrokerDefaults: Readonly<Required<Omit<LocalBrokerOptions, 'dataDir'>>> =
  Object.freeze({
    leaseMs: 30_000,
    pollIntervalMs: 50,
    synchronous: 'full',
    maxEventBytes: 64 * 1024 * 1024,
  })

const positiveInt = (v: unknown) => Number.isSafeInteger(v) && (v as number) > 0

export function resolveLocalOptions(options: LocalBrokerOptions): Required<LocalBrokerOptions> {
  if (options === null || typeof options !== 'object') {
    throw new TypeError('options must be an object')
  }
  const o = { ...localBrokerDefaults, ...options }
  if (typeof o.dataDir !== 'string' || o.dataDir === '') {
    throw new TypeError('options.dataDir must be a non-empty string')
  }
  for (const k of ['leaseMs', 'pollIntervalMs', 'maxEventBytes'] as const) {
    if (!positiveInt(o[k])) throw new TypeError(`options.${k} must be a positive integer`)
  }
  if (o.synchronous !== 'full' && o.synchronous !== 'normal') {
    throw new TypeError("options.synchronous must be 'full' or 'normal'")
  }
  return o
}
