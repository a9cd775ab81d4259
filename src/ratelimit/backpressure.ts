// Learning from the vendor when to hold off (`rateLimit.upstream`):
// a 429 or 503 with Retry-After, or a "remaining: 0" header with its reset
// time, becomes a pause of the vendor's buckets on every replica.
import type { VendorPolicy } from '../policy/types.js'
import { MAX_RETRY_AFTER_MS, parseRetryAfter } from '../resilience/retry-after.js'

// A reset value this large is a point in time, not a delay:
// from 1e9 (September 2001) it is epoch seconds, from 1e12 epoch milliseconds.
const EPOCH_SECONDS_FROM = 1e9
const EPOCH_MS_FROM = 1e12

/**
 * When the vendor's buckets should pause until (epoch ms), learnt from one
 * upstream response; undefined for no pause. `headers` is called with
 * lower-case names (compilePolicy lower-cases the two configured ones).
 *
 * - `upstream.retryAfter: true` and status 429 or 503: the Retry-After header,
 *   in seconds or as an HTTP-date.
 * - `remainingHeader` and `resetHeader` set, any status: when remaining is 0
 *   (or less), the reset header. A number from 1e12 up is epoch ms, from 1e9
 *   up epoch seconds, anything smaller seconds from now.
 *
 * Both may apply; the later time wins. A pause is at most a day long. A vendor
 * without buckets has nothing to pause: undefined.
 */
export function learnBackpressure (
  policy: VendorPolicy,
  status: number,
  headers: (name: string) => string | undefined,
  nowMs: number
): number | undefined {
  if (policy.rateLimit.buckets.length === 0) return undefined
  const up = policy.rateLimit.upstream
  let until = nowMs
  if (up.retryAfter && (status === 429 || status === 503)) {
    const ms = parseRetryAfter(headers('retry-after'), nowMs)
    if (ms !== undefined) until = nowMs + ms
  }
  if (up.remainingHeader !== undefined && up.resetHeader !== undefined && isExhausted(headers(up.remainingHeader))) {
    const ms = resetDelayMs(headers(up.resetHeader), nowMs)
    if (ms !== undefined && nowMs + ms > until) until = nowMs + ms
  }
  return until > nowMs ? until : undefined
}

function isExhausted (remaining: string | undefined): boolean {
  if (remaining === undefined) return false
  const v = remaining.trim()
  return v !== '' && Number(v) <= 0
}

function resetDelayMs (reset: string | undefined, nowMs: number): number | undefined {
  if (reset === undefined) return undefined
  const v = reset.trim()
  if (v === '') return undefined
  const n = Number(v)
  if (!Number.isFinite(n) || n < 0) return undefined
  let ms: number
  if (n >= EPOCH_MS_FROM) ms = n - nowMs
  else if (n >= EPOCH_SECONDS_FROM) ms = n * 1000 - nowMs
  else ms = n * 1000
  return Math.min(Math.max(0, Math.ceil(ms)), MAX_RETRY_AFTER_MS)
}
