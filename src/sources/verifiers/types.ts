import type { Rejection, RequestView, Verified } from '../types.js'

/** Checks one request on its raw bytes. Pure apart from the clock; safe to call concurrently. */
export type Verifier = (request: RequestView) => Verified | Rejection

export interface VerifierClock {
  /** Wall-clock time in milliseconds since the epoch, for signed timestamps. */
  now: () => number
}

/** Default tolerance for signed timestamps (Stripe's, Slack's and Standard Webhooks' own). */
export const DEFAULT_TOLERANCE_SECONDS = 300
