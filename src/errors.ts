/**
 * Stable error codes. HTTP error bodies carry them as `error`; logs and thrown errors use them
 * too. Every code here is documented in docs/errors.md (test/errors.test.ts fails otherwise).
 * Codes are part of the public interface: add, never rename.
 */
export const ErrorCodes = {
  body_too_large: { status: 413, message: 'request body is larger than SLUICE_MAX_BODY' },
  event_too_large: { status: 413, message: 'event is larger than the broker can carry' },
  invalid_event_id: { status: 400, message: 'event id is longer than 256 characters' },
  unknown_source: { status: 404, message: 'no such source in SLUICE_CONFIG' },
  not_found: { status: 404, message: 'no such route' },
  method_not_allowed: { status: 405, message: 'only POST is allowed on /webhook' },
  signature_missing: { status: 401, message: 'the signature header is missing' },
  signature_mismatch: { status: 401, message: 'the signature does not match the body' },
  timestamp_out_of_tolerance: {
    status: 401,
    message: 'the signed timestamp is too old or too far ahead',
  },
  rate_limited: { status: 429, message: 'too many requests for this source' },
  journal_full: { status: 503, message: 'journal is over its disk quota; retry later' },
  shutting_down: { status: 503, message: 'engine is shutting down; retry later' },
  journal_unavailable: { status: 503, message: 'journal commit failed; retry later' },
} as const satisfies Record<string, { status: number; message: string }>

export type ErrorCode = keyof typeof ErrorCodes
