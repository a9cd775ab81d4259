// The decision rule shared by both stores (memory.ts in TypeScript, the Lua
// script in redis-script.ts; keep the two in step):
//
// 1. Refill each bucket for the time since it was last touched, up to its capacity.
// 2. A bucket's need is the time until it holds the call's cost (1, or the
//    bucket's cost estimate), or the vendor's pause if that is longer. The
//    call's wait is the largest need.
// 3. A cost over a bucket's capacity is refused first: no wait would admit it.
//    The call is refused when a bucket with a need does not queue
//    (`onLimit: reject`), or queues but the call's wait is over its maxWait;
//    or when the wait would pass the call's deadline. A refusal takes nothing.
// 4. Otherwise every bucket gives the call's cost now, even one whose need is in the
//    future: its count goes below zero, which reserves the token for this
//    call and puts the next caller behind it (arrival order), so a queued call
//    sleeps once instead of asking again.

/** What a store decided for one call. */
export interface Verdict {
  refused: boolean
  /** ms to wait before sending (0 when refused) */
  waitMs: number
  /** on a refusal: ms until every bucket could serve the call without waiting */
  retryAfterMs: number
  /** the bucket that refused, or that needed the longest wait; -1 for none */
  bucket: number
  /** bit i set: bucket i had to wait (counted as 'queued' rather than 'allowed') */
  queuedMask: number
  /** refused because the cost is over the capacity of `bucket`: no retry can succeed */
  overCapacity?: boolean
  /**
   * The bucket closest to refusing (the lowest share of its capacity left
   * after this call; on a refusal, the bucket that refused) and the whole
   * tokens it holds, never below 0: for the RateLimit headers.
   */
  closest: number
  remaining: number
}

/** Rounding slack: 20 × 0.05 tokens must count as one whole token. */
export const EPSILON = 1e-9
/** The need of a bucket that never refills: far beyond any deadline, yet finite. */
export const NEVER_MS = 1e12
/** Upper bound of an idle bucket's Redis TTL (a bucket that refills very slowly). */
export const MAX_IDLE_TTL_MS = 7 * 24 * 3600 * 1000

export function isQueued (mask: number, i: number): boolean {
  return Math.floor(mask / 2 ** i) % 2 === 1
}
