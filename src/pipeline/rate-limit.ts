// Stage: a token from each of the vendor's buckets, shared by every replica
// through Redis (or in memory). Queued calls wait here; refusals are 429 with a
// truthful Retry-After, or 503 when Redis is down and the policy fails closed.
// A call that is never sent takes nothing: one refused after this stage gives
// its tokens back when it ends (returnUnsentTokens), one whose client leaves
// while it is queued leaves the queue at once.
//
// With costs, a call reserves its estimate from each bucket (read from the
// request: its body is then read first, whole up to limits.body) and, once it
// was sent, settles against the actual cost read from the response as it was
// relayed (CostTap).
import { SluiceError } from '../errors.js'
import { bucketKeyValues, CostTap, estimateCosts, type RateDecision } from '../ratelimit/index.js'
import type { CallContext, RoutedCall } from './context.js'
import { readRequestBody } from './request-body.js'

/**
 * Undefined when there is nothing to wait for: the vendor has no buckets, or
 * the decision was made at once (a leased token, the local buckets, a
 * refusal, thrown here) and applied. Else a promise settled once the call may
 * go (a decision in Redis, a queue wait, a body read for its cost).
 */
export function takeTokens (ctx: RoutedCall): Promise<void> | undefined {
  const { policy, rateLimitPlan: plan } = ctx.vendor
  if (plan.size === 0) return undefined
  const keys = plan.fixedKeys ?? bucketKeyValues(policy, (name) => ctx.header(name), ctx.clientIp)
  ctx.bucketKeys = keys
  const costs = plan.cost
  if (costs === undefined) return applyWhenDecided(ctx, ctx.runtime.limiter.decide(plan, keys, ctx.deadline, ctx), keys)
  const body = costs.needsBody ? readRequestBody(ctx, policy.limits.bodyBytes) : undefined
  const reserve = (): Promise<void> | undefined => {
    const estimate = estimateCosts(costs, (name) => ctx.header(name), ctx.body.kind === 'buffered' ? ctx.body.data : undefined)
    return applyWhenDecided(ctx, ctx.runtime.limiter.decide(plan, keys, ctx.deadline, ctx, estimate), keys)
  }
  return body === undefined ? reserve() : body.then(reserve)
}

/** A decision made at once is applied now (no promise, no closure); one still to come, when it comes. */
function applyWhenDecided (ctx: RoutedCall, decision: RateDecision | Promise<RateDecision>, keys: readonly string[]): Promise<void> | undefined {
  if (decision instanceof Promise) return decision.then(d => applyDecision(ctx, d, keys))
  applyDecision(ctx, decision, keys)
  return undefined
}

/**
 * At the relayed response's headers: a reader of its actual cost, when the
 * call reserved costs that settle from the response. `header` is called with
 * lower-case names.
 */
export function openCostTap (ctx: RoutedCall, header: (name: string) => string | undefined): CostTap | undefined {
  if (ctx.tokens?.costs === undefined) return undefined
  const plan = ctx.vendor.rateLimitPlan.cost
  return plan?.settles === true ? new CostTap(plan, header) : undefined
}

/**
 * When the call ends: tokens taken for an attempt that was never sent (a
 * later stage refused the call, or sluice refused the destination) go back,
 * and a call queued behind moves up. A call sent with costs settles them
 * against what the response said it cost.
 */
export function returnUnsentTokens (ctx: CallContext): void {
  const tokens = ctx.tokens
  if (tokens === undefined || ctx.vendor === undefined) return
  ctx.tokens = undefined
  const plan = ctx.vendor.rateLimitPlan
  if (ctx.attempts !== ctx.tokensAtAttempt && ctx.error?.code !== 'forbidden_destination') {
    const tap = ctx.costTap
    if (tap !== undefined) {
      const actual = tap.result()
      ctx.runtime.limiter.settleCost(plan, (ctx.bucketKeys ?? []), tokens, actual)
      const first = plan.cost?.first ?? -1
      if (first >= 0 && actual[first] !== undefined) ctx.cost = actual[first]
    }
    return
  }
  ctx.runtime.limiter.giveBack(plan, (ctx.bucketKeys ?? []), tokens)
}

/** upstream.sync: the vendor's remaining count (its remainingHeader) lowers the synced bucket, never raises it. */
export function syncFromVendor (ctx: RoutedCall, remaining: string | undefined): void {
  if (remaining === undefined) return
  const v = remaining.trim()
  const n = v === '' ? NaN : Number(v)
  if (!Number.isFinite(n) || n < 0) return
  ctx.runtime.limiter.sync(ctx.vendor.rateLimitPlan, (ctx.bucketKeys ?? []), Math.floor(n))
}

function applyDecision (ctx: RoutedCall, decision: RateDecision, keys: readonly string[]): void {
  const vendor = ctx.vendor
  ctx.waitMs += decision.waitMs
  if (decision.waitMs > 0) ctx.trace?.waited(decision.waitMs, decision.bucket)
  if (decision.bucket !== undefined && (!decision.ok || decision.waitMs > 0 || decision.wouldLimit === true)) ctx.rateBucket = decision.bucket
  const first = decision.costs === undefined ? -1 : vendor.rateLimitPlan.cost?.first ?? -1
  if (first >= 0) ctx.cost = decision.costs?.[first]
  if (decision.wouldLimit === true) ctx.wouldLimit = true
  // A client that left while its call queued must not have it sent anyway:
  // nobody reads the answer, and a client that retries would have it made twice.
  // The vendor never sees it, so its token goes back to the calls behind it.
  if (ctx.clientGone) {
    if (decision.ok) ctx.runtime.limiter.giveBack(vendor.rateLimitPlan, keys, decision)
    throw new SluiceError('client_gone', 'the client went away while the call was queued')
  }
  if (decision.ok) {
    ctx.tokens = decision
    ctx.tokensAtAttempt = ctx.attempts
    return
  }
  if (decision.overCapacity !== undefined) {
    const { cost, capacity } = decision.overCapacity
    // No wait would admit it: no Retry-After.
    throw new SluiceError('rate_limited', `the call's cost of ${cost} is over the capacity of bucket ${decision.bucket ?? ''} (${capacity}) of ${vendor.name}: it can never be admitted`, {
      ...(decision.bucket !== undefined ? { bucket: decision.bucket } : {}),
    })
  }
  if (decision.code === 'redis_unavailable') {
    throw new SluiceError('redis_unavailable', 'the shared rate limit store is unreachable and the policy fails closed')
  }
  throw new SluiceError('rate_limited', `rate limit of ${vendor.name} reached${decision.bucket ? ` (bucket ${decision.bucket})` : ''}`, {
    retryAfterSec: Math.max(1, Math.ceil(decision.retryAfterMs / 1000)),
    ...(decision.bucket !== undefined ? { bucket: decision.bucket } : {}),
  })
}
