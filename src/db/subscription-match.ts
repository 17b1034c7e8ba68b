/**
 * The SQL condition "subscription `s` takes event `e`" (status aside): its sources, when set,
 * name the event's source, and its event types, when set, name the type exactly or by a
 * trailing `*`. One text for the fan-out in the workers' store statement and for replays, so
 * a replay reaches exactly the subscriptions the first delivery did.
 */
export function subscriptionMatches(s: string, e: string): string {
  return `(${s}.sources IS NULL OR ${e}.source = ANY (${s}.sources))
  AND (${s}.event_types IS NULL OR EXISTS (SELECT 1 FROM unnest(${s}.event_types) AS p(t)
    WHERE p.t = ${e}.type OR (right(p.t, 1) = '*' AND starts_with(coalesce(${e}.type, ''), left(p.t, -1)))))`
}
