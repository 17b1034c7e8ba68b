/**
 * Sluice's operational events (contract: "Operational events"): events of the source `sluice`
 * about its own changes, stored by migration 0010's sluice_emit_event in the transaction that
 * makes the change, and delivered like any event to the subscriptions that name `sluice`.
 * These are SQL fragments for the statements that make those changes.
 *
 * No loops: nothing is said about a delivery of a `sluice` event, nor about a subscription that
 * takes only `sluice` events; so a subscription failing to take operational events makes none.
 */

/** Subscription row `s` takes events other than Sluice's own (absent sources: every source). */
const takesOthers = (s: string) => `coalesce(NOT (${s}.sources <@ '{sluice}'::text[]), true)`

const subscription = (s: string) => `jsonb_build_object('id', ${s}.id, 'url', ${s}.url)`
const eventKey = (source: string, id: string) =>
  `jsonb_build_object('source', ${source}, 'id', ${id})`

/** A select of (type, body) rows made into events; its count must be read for it to run. */
const emit = (rows: string) =>
  `SELECT sluice_emit_event(x.type, jsonb_build_object('type', x.type, 'at', now()) || x.body)
   FROM (${rows}) AS x (type, body)`

export const operationalEvents = {
  /**
   * Of a result write: `d` the deliveries it recorded (id, subscription_id, source, event_id,
   * status, message, error) and `s` the subscriptions it updated (id, url, sources, paused,
   * resumed, consecutive_failures, down_since, last_error).
   */
  ofResults: (d: string, s: string) =>
    emit(`
    SELECT 'delivery.failed', jsonb_build_object('subscription', ${subscription('sub')},
      'delivery', jsonb_build_object('id', ${d}.id::text, 'event', ${eventKey(`${d}.source`, `${d}.event_id`)}),
      'event', ${eventKey(`${d}.source`, `${d}.event_id`)},
      'reason', coalesce(${d}.message, ${d}.error, 'the last attempt failed'))
    FROM ${d} JOIN subscriptions sub ON sub.id = ${d}.subscription_id
    WHERE ${d}.status = 'failed' AND ${d}.source <> 'sluice' AND ${takesOthers('sub')}
    UNION ALL
    SELECT CASE WHEN ${s}.paused THEN 'subscription.paused' ELSE 'subscription.resumed' END,
      jsonb_build_object('subscription', ${subscription(s)}, 'reason', CASE WHEN ${s}.paused
        THEN format('%s failed attempts in a row since %s; the last: %s', ${s}.consecutive_failures,
          to_char(${s}.down_since AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'), ${s}.last_error)
        ELSE 'a delivery succeeded' END)
    FROM ${s} WHERE (${s}.paused OR ${s}.resumed) AND ${takesOthers(s)}`),

  /** Of disabling: `s` the subscriptions disabled (id, url, sources, disabled_reason). */
  ofDisabled: (s: string) =>
    emit(`
    SELECT 'subscription.disabled', jsonb_build_object('subscription', ${subscription(s)},
      'reason', ${s}.disabled_reason)
    FROM ${s} WHERE ${takesOthers(s)}`),

  /**
   * Of dead-lettering: `l` the dead letters written (source, id, reason, last_error, created);
   * one written again (a crash before the broker's ack) is not news.
   */
  ofDeadLetters: (l: string) =>
    emit(`
    SELECT 'dead_letter.created', jsonb_build_object('event', ${eventKey(`${l}.source`, `${l}.id`)},
      'reason', format('%s: %s', ${l}.reason, ${l}.last_error))
    FROM ${l} WHERE ${l}.created`),
}
