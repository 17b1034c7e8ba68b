/** How far the clock may be behind the last receipt time for the next one to follow it still. */
export const CLOCK_STEP_MS = 5

/**
 * The receipt time of a commit at `now` after one at `last`: `now` when later; else, when the
 * clock is at most CLOCK_STEP_MS behind (the same millisecond, a small correction), one
 * millisecond after `last`. A clock that stepped back further is taken as it is: following
 * `last` would stamp every event ahead of the clock until it caught up, and the ordering
 * watermark, which is the clock, would hold every ordered delivery back as long. Events
 * received across such a step may then be ordered against their receipt, as before.
 */
export function nextReceiptTime(now: number, last: number): number {
  return followsLast(now, last) ? last + 1 : now
}

/** The clock at `now` has not passed `last` and is at most CLOCK_STEP_MS behind it. */
export function followsLast(now: number, last: number): boolean {
  return now <= last && last - now <= CLOCK_STEP_MS
}
