// Exponential backoff with jitter between retries. Jitter spreads the retries of
// many callers that failed together, so they do not hit the vendor in lockstep.
import type { RetryPolicy } from '../policy/types.js'

/**
 * The wait before retry number `retryNumber` (1 = the first retry), in whole ms:
 * initial × multiplier^(n-1), capped at max, then jittered:
 * - full:  uniform in [0, d)
 * - equal: d/2 + uniform in [0, d/2)
 * - none:  d
 */
export function backoffDelay (
  backoff: RetryPolicy['backoff'],
  retryNumber: number,
  random: () => number = Math.random
): number {
  const exp = retryNumber > 1 ? retryNumber - 1 : 0
  // Math.min also tames Infinity from a large exponent.
  const d = Math.min(backoff.maxMs, backoff.initialMs * backoff.multiplier ** exp)
  switch (backoff.jitter) {
    case 'full': return Math.floor(random() * d)
    case 'equal': return Math.floor(d / 2 + random() * (d / 2))
    default: return Math.floor(d)
  }
}
