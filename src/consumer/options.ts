/** Options of the broker consumer that feeds the worker pool. */
export interface ConsumerOptions {
  /** Deliveries handed to one worker task. @defaultValue 64 */
  batchSize?: number
  /** How long a partial batch waits for more deliveries before it goes. @defaultValue 2 */
  lingerMs?: number
  /** Batches processed at once (normally the number of worker threads). @defaultValue 2 */
  concurrency?: number
  /** Processing attempts before an event is dead-lettered (SLUICE_MAX_ATTEMPTS). @defaultValue 5 */
  maxAttempts?: number
  /** Delay before the second attempt; each later attempt waits about 4x longer (jittered). @defaultValue 1000 */
  retryBaseMs?: number
  /** Longest delay between two attempts. @defaultValue 300000 */
  retryCapMs?: number
  /** First back-off while the database is unreachable. @defaultValue 200 */
  outageBaseMs?: number
  /** Longest back-off while the database is unreachable. @defaultValue 10000 */
  outageCapMs?: number
}

export const consumerDefaults: Readonly<Required<ConsumerOptions>> = Object.freeze({
  batchSize: 64,
  lingerMs: 2,
  concurrency: 2,
  maxAttempts: 5,
  retryBaseMs: 1000,
  retryCapMs: 300000,
  outageBaseMs: 200,
  outageCapMs: 10000,
})

export function resolveConsumerOptions(options: ConsumerOptions = {}): Required<ConsumerOptions> {
  const resolved = { ...consumerDefaults, ...options }
  for (const key of Object.keys(consumerDefaults) as Array<keyof ConsumerOptions>) {
    const value = resolved[key]
    const min = key === 'lingerMs' ? 0 : 1
    if (!Number.isInteger(value) || value < min) {
      throw new TypeError(`options.${key} must be an integer >= ${min}`)
    }
  }
  return resolved
}
