// Small policy factories for the resilience tests: the SPEC's example values,
// overridable field by field.
import type { CircuitBreakerPolicy, RetryPolicy, VendorPolicy } from '../../src/policy/types.js'

export function retryPolicy (over: Partial<RetryPolicy> = {}): RetryPolicy {
  return {
    attempts: 3,
    backoff: { initialMs: 1000, maxMs: 10_000, multiplier: 2, jitter: 'full' },
    on: ['connect-error', 'timeout', 429, 502, 503, 504],
    respectRetryAfter: true,
    idempotentOnly: true,
    budget: 0.2,
    maxBufferedBodyBytes: 1024 * 1024,
    ...over,
  }
}

export function breakerPolicy (over: Partial<CircuitBreakerPolicy> = {}): CircuitBreakerPolicy {
  return {
    enabled: true,
    failureRate: 0.1,
    minimumRequests: 20,
    windowMs: 10_000,
    openForMs: 60_000,
    failOn: ['5xx', 'timeout', 'connect-error'],
    bodyRule: undefined,
    ...over,
  }
}

/** The parts of a vendor policy the retry decisions read. */
export function replayPolicy (
  retry: Partial<RetryPolicy> = {},
  idempotency: Partial<VendorPolicy['idempotency']> = {}
): Pick<VendorPolicy, 'retry' | 'idempotency'> {
  return {
    retry: retryPolicy(retry),
    idempotency: { header: 'Idempotency-Key', generate: new Set(['POST']), ...idempotency },
  }
}
