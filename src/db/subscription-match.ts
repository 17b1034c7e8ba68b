/**
 * The SQL condition "subscription `s` takes event `e`" (status aside): migration 0010's
 * sluice_takes over its sources, event types and filter and the event's source, type and JSON
 * body. One text for the fan-out in the workers' store statement, for replays and for
 * operational events, so a replay reaches exactly the subscriptions the first delivery did.
 * `e` must have `source`, `type` and `payload`.
 */
export function subscriptionMatches(s: string, e: string): string {
  return `sluice_takes(${s}.sources, ${s}.type_patterns, ${s}.filter_path, ${e}.source, ${e}.type, ${e}.payload)`
}

/**
 * The `ordering_key, waiting_for` values of a new delivery of `e` to `s`: an ordered delivery
 * (a key at the subscription's pointer) waits (0) until the linker puts it into its chain
 * (src/db/ordering.ts); any other is free at once (NULL).
 */
export function orderingValues(s: string, e: string, named = false): string {
  const key = `sluice_ordering_key(${s}.ordering_path, ${e}.payload)`
  const [k, w] = named ? [' AS ordering_key', ' AS waiting_for'] : ['', '']
  return `${key}${k}, CASE WHEN ${key} IS NULL THEN NULL ELSE 0 END${w}`
}
