// Stage: a token from each of the vendor's buckets, shared by every replica
// through Redis (or in memory). Queued calls wait here; refusals are 429 with a
// truthful Retry-After, or 503 when Redis is down and the policy fails closed.
// A call that is never sent takes nothing: one refused after this stage gives
// its tokens back when it ends (returnUnsentTokens), one whose client leaves
// while it is queued leaves the queue at once.
import { SluiceError } from '../errors.js'
import { bucketKeyValues, type RateDecision } from '../ratelimit/index.js'
import type { CallContext } from './context.js'

/** Undefined when the vendor has no buckets (nothing to wait for), else a promise settled once the call may go. */
export function takeTokens (ctx: CallContext): Promise<void> | undefined {
  const policy = (ctx.vendor as NonNullable<CallContext['vendor']>).policy
  if (policy.rateLimit.buckets.length === 0) return undefined
  const keys = bucketKeyValues(policy, (name) => ctx.header(name), ctx.clientIp)
  ctx.bucketKeys = keys
  return ctx.runtime.limiter.acquire(policy, keys, ctx.deadline, ctx).then(decision => applyDecision(ctx, decision, keys))
}

/**
 * When the call ends: tokens taken for an attempt that was never sent (a
 * later stage refused the call, or sluice refused the destination) go back,
 * and a call queued behind moves up.
 */
export function returnUnsentTokens (ctx: CallContext): void {
  const tokens = ctx.tokens
  if (tokens === undefined) return
  ctx.tokens = undefined
  if (ctx.attempts !== ctx.tokensAtAttempt && ctx.error?.code !== 'forbidden_destination') return
  ctx.runtime.limiter.giveBack((ctx.vendor as NonNullable<CallContext['vendor']>).policy, ctx.bucketKeys ?? [], tokens)
}

function applyDecision (ctx: CallContext, decision: RateDecision, keys: readonly string[]): void {
  const vendor = ctx.vendor as NonNullable<CallContext['vendor']>
  ctx.waitMs += decision.waitMs
  if (decision.waitMs > 0) ctx.trace?.waited(decision.waitMs, decision.bucket)
  if (decision.wouldLimit === true) ctx.wouldLimit = true
  // A client that left while its call queued must not have it sent anyway:
  // nobody reads the answer, and a client that retries would have it made twice.
  // The vendor never sees it, so its token goes back to the calls behind it.
  if (ctx.clientGone) {
    if (decision.ok) ctx.runtime.limiter.giveBack(vendor.policy, keys, decision)
    throw new SluiceError('client_gone', 'the client went away while the call was queued')
  }
  if (decision.ok) {
    ctx.tokens = decision
    ctx.tokensAtAttempt = ctx.attempts
    return
  }
  if (decision.code === 'redis_unavailable') {
    throw new SluiceError('redis_unavailable', 'the shared rate limit store is unreachable and the policy fails closed')
  }
  throw new SluiceError('rate_limited', `rate limit of ${vendor.name} reached${decision.bucket ? ` (bucket ${decision.bucket})` : ''}`, {
    retryAfterSec: Math.max(1, Math.ceil(decision.retryAfterMs / 1000)),
  })
}
