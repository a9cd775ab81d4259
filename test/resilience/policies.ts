// Policy sections for the resilience tests, written as in a policy file
// ("100ms", "50%") and compiled through test/helpers/policy.ts, so every field
// a test leaves out is the real default.
import type { CircuitBreakerPolicy, RetryPolicy, VendorPolicy } from '../../src/policy/types.js'
import { vendorPolicy, type RawPolicy } from '../helpers/policy.js'

export type RetrySection = NonNullable<RawPolicy['retry']>
export type BreakerSection = NonNullable<RawPolicy['circuitBreaker']>
export type IdempotencySection = NonNullable<RawPolicy['idempotency']>

export function retryPolicy (retry: RetrySection = {}): RetryPolicy {
  return vendorPolicy({ retry }).retry
}

export function breakerPolicy (circuitBreaker: BreakerSection = {}): CircuitBreakerPolicy {
  return vendorPolicy({ circuitBreaker }).circuitBreaker
}

/** The parts of a vendor policy the retry decisions read. */
export function replayPolicy (retry: RetrySection = {}, idempotency: IdempotencySection = {}): Pick<VendorPolicy, 'retry' | 'idempotency'> {
  return vendorPolicy({ retry, idempotency })
}
