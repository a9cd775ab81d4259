// Pure retry decisions for the forwarder. A retry happens only when all hold:
//   attemptsMade < policy.retry.attempts
//   shouldRetry(outcome, policy.retry)
//   isReplayable(method, headers, policy) || wasNeverSent(outcome)   (and the body was kept)
//   budget.tryRetry()                                                 (last: it counts the retry)
//   retryDelay(...) !== undefined                                     (the wait fits the deadline)
import { randomUUID } from 'node:crypto'
import type { RetryPolicy, VendorPolicy } from '../policy/types.js'
import { backoffDelay } from './backoff.js'
import type { AttemptOutcome } from './outcome.js'

export type { AttemptOutcome } from './outcome.js'

// RFC 9110 section 9.2.2: sending these twice has the effect of sending them once.
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE'])

/**
 * May this request be sent again? Idempotent methods always; any other
 * (POST, PATCH) only when it carries the policy's idempotency key header, so the
 * vendor can tell the replay from a new call, or when the policy sets
 * `retry.idempotentOnly: false`. A key that sluice generated counts: add it to
 * the request before asking. `headers` looks a header up by its lower-case name
 * (compilePolicy lower-cases idempotency.header).
 */
export function isReplayable (
  method: string,
  headers: (name: string) => string | undefined,
  policy: Pick<VendorPolicy, 'retry' | 'idempotency'>
): boolean {
  if (IDEMPOTENT.has(method)) return true
  if (!policy.retry.idempotentOnly) return true
  const key = headers(policy.idempotency.header)
  return key !== undefined && key !== ''
}

/**
 * True when the vendor cannot have seen the request: the connection was never
 * made. Such an attempt may be retried even when the request is not replayable
 * (a POST without a key), provided its body is still at hand.
 */
export function wasNeverSent (outcome: AttemptOutcome): boolean {
  return outcome.kind === 'connect-error' || (outcome.kind === 'timeout' && outcome.phase === 'connect')
}

/**
 * Is this outcome one the policy retries (`retry.on`)?
 *
 * `reset` (the connection died before response headers) is retried when `on`
 * lists `reset`, or, when it does not, under `connect-error`. The usual reset is
 * a pooled keep-alive socket that the vendor closed just as it was reused, which
 * every HTTP client retries; a policy that retries connect errors wants this one
 * too. The request may have reached the vendor, so the forwarder retries a reset
 * only for a replayable request (isReplayable), never under wasNeverSent.
 */
export function shouldRetry (outcome: AttemptOutcome, policy: RetryPolicy): boolean {
  switch (outcome.kind) {
    case 'status': return policy.on.includes(outcome.status)
    case 'connect-error': return policy.on.includes('connect-error')
    case 'timeout': return policy.on.includes('timeout')
    case 'reset': return policy.on.includes('reset') || policy.on.includes('connect-error')
  }
}

/**
 * The wait before retry number `retryNumber` (1 = the first retry), in ms: the
 * backoff, or the vendor's Retry-After when `respectRetryAfter` and it is longer.
 * Undefined (do not retry) when the wait would reach the call's deadline, since
 * an attempt that starts at the deadline cannot finish.
 *
 * @param retryAfterMs the response's Retry-After, parsed (parseRetryAfter), if any
 * @param deadlineMs   the call's total deadline, on the clock of `nowMs`
 */
export function retryDelay (
  policy: RetryPolicy,
  retryNumber: number,
  retryAfterMs: number | undefined,
  nowMs: number,
  deadlineMs: number,
  random?: () => number
): number | undefined {
  let delay = backoffDelay(policy.backoff, retryNumber, random)
  if (policy.respectRetryAfter && retryAfterMs !== undefined && retryAfterMs > delay) delay = retryAfterMs
  return nowMs + delay < deadlineMs ? delay : undefined
}

/** Should sluice add a fresh idempotency key (`idempotency.generate`)? */
export function idempotencyKeyToAdd (method: string, hasKey: boolean, policy: Pick<VendorPolicy, 'idempotency'>): boolean {
  return !hasKey && policy.idempotency.generate.has(method)
}

export function newIdempotencyKey (): string {
  return randomUUID()
}
