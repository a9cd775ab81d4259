// Stages that admit a call or refuse it at once: the bulkhead (limits.concurrency)
// and the circuit breaker. Both are synchronous and O(1). The breaker is asked
// twice: checkBreaker refuses before the rate limit, so a call the breaker
// would refuse takes no token; admitBreaker, after it, lets the half-open
// probe through only once the probe has its tokens.
import { SluiceError } from '../errors.js'
import type { RoutedCall } from './context.js'

export function enterBulkhead (ctx: RoutedCall): void {
  const vendor = ctx.vendor
  if (!vendor.bulkhead.tryEnter()) {
    throw new SluiceError('overloaded', `${vendor.name} already has ${vendor.bulkhead.limit} calls in flight`)
  }
  ctx.inBulkhead = true
}

/** Refuses a call the breaker would refuse now, without taking the half-open probe's slot. */
export function checkBreaker (ctx: RoutedCall): void {
  const vendor = ctx.vendor
  const admission = vendor.breaker.check()
  if (!admission.ok) throw circuitOpen(vendor.name, admission.retryAfterMs)
}

export function admitBreaker (ctx: RoutedCall): void {
  const vendor = ctx.vendor
  const admission = vendor.breaker.admit()
  if (!admission.ok) throw circuitOpen(vendor.name, admission.retryAfterMs)
  ctx.breakerAdmitted = true
}

function circuitOpen (vendor: string, retryAfterMs: number): SluiceError {
  return new SluiceError('circuit_open', `the circuit breaker for ${vendor} is open`, {
    retryAfterSec: Math.max(1, Math.ceil(retryAfterMs / 1000)),
  })
}

/**
 * Starts the timeouts.total clock: queueing, attempts and backoff all count.
 * The runtime's one sweep ends the call when it passes (CallContext.deadlineReached).
 */
export function startDeadline (ctx: RoutedCall): void {
  ctx.deadline = Date.now() + ctx.vendor.policy.timeouts.totalMs
  ctx.runtime.deadlines.watch(ctx)
}
