// Stages that admit a call or refuse it at once: the bulkhead (limits.concurrency)
// and the circuit breaker. Both are synchronous and O(1).
import { SluiceError } from '../errors.js'
import { totalTimeoutError } from '../proxy/upstream-errors.js'
import type { RoutedCall } from './context.js'

export function enterBulkhead (ctx: RoutedCall): void {
  const vendor = ctx.vendor
  if (!vendor.bulkhead.tryEnter()) {
    throw new SluiceError('overloaded', `${vendor.name} already has ${vendor.bulkhead.limit} calls in flight`)
  }
  ctx.inBulkhead = true
}

export function admitBreaker (ctx: RoutedCall): void {
  const vendor = ctx.vendor
  const admission = vendor.breaker.admit()
  if (!admission.ok) {
    throw new SluiceError('circuit_open', `the circuit breaker for ${vendor.name} is open`, {
      retryAfterSec: Math.max(1, Math.ceil(admission.retryAfterMs / 1000)),
    })
  }
  ctx.breakerAdmitted = true
}

/** Starts the timeouts.total clock: queueing, attempts and backoff all count. */
export function startDeadline (ctx: RoutedCall): void {
  const total = ctx.vendor.policy.timeouts.totalMs
  ctx.deadline = Date.now() + total
  ctx.deadlineTimer = setTimeout(onDeadline, total, ctx)
}

function onDeadline (ctx: RoutedCall): void {
  ctx.deadlinePassed = true
  ctx.abortAttempt?.(totalTimeoutError(ctx.vendor.name))
}
