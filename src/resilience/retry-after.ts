// Retry-After (RFC 9110 section 10.2.3): delay-seconds or an HTTP-date. Vendors
// send both, and sometimes nonsense; nonsense is ignored rather than obeyed.

/**
 * The longest wait taken from a vendor. A larger value is clamped, not ignored:
 * the vendor clearly wants a long pause, and callers compare it with their own
 * deadline anyway.
 */
export const MAX_RETRY_AFTER_MS = 24 * 60 * 60 * 1000

// Whole seconds as the RFC says; fractions are accepted because some vendors send them.
const SECONDS = /^\d+(?:\.\d+)?$/
// All three HTTP-date forms start with a day name (IMF-fixdate, RFC 850, asctime).
// Checking it keeps Date.parse from reading plain garbage such as "1" as a year.
const HTTP_DATE = /^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)[a-z]*,? /
// asctime has no zone; HTTP says it is GMT, Date.parse would take it as local time.
const ASCTIME = /^[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \d{4}$/

/** Milliseconds from `nowMs` until the vendor wants a retry (≥ 0), or undefined. */
export function parseRetryAfter (value: string | undefined, nowMs: number): number | undefined {
  if (value === undefined) return undefined
  const v = value.trim()
  if (SECONDS.test(v)) return Math.min(Math.ceil(Number(v) * 1000), MAX_RETRY_AFTER_MS)
  if (!HTTP_DATE.test(v)) return undefined
  const at = Date.parse(ASCTIME.test(v) ? v + ' GMT' : v)
  if (Number.isNaN(at)) return undefined
  return Math.min(Math.max(0, at - nowMs), MAX_RETRY_AFTER_MS)
}
