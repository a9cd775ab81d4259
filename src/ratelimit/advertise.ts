// The RateLimit-Policy and RateLimit response headers (IETF httpapi
// ratelimit-headers draft, structured-field form), naming the bucket closest
// to refusing the call:
//   RateLimit-Policy: "burst";q=100;w=4    q = capacity, w = seconds to refill from empty
//   RateLimit: "burst";r=42;t=1            r = whole tokens left, t = seconds until full again
import type { BucketPolicy } from '../policy/types.js'
import type { Plan } from './plan.js'
import type { RateDecision } from './types.js'

export interface Advertised {
  /** per bucket: its RateLimit-Policy value, and its refill in tokens per second */
  policies: string[]
  names: string[]
  capacity: number[]
  refillPerS: number[]
}

/** Worked out once per policy load, in the rate limit plan. */
export function compileAdvertised (buckets: readonly BucketPolicy[]): Advertised {
  return {
    names: buckets.map(b => JSON.stringify(b.name)),
    policies: buckets.map(b => `${JSON.stringify(b.name)};q=${b.capacity};w=${Math.max(1, Math.ceil(b.capacity / (b.refillPerMs * 1000)))}`),
    capacity: buckets.map(b => b.capacity),
    refillPerS: buckets.map(b => b.refillPerMs * 1000),
  }
}

/**
 * Appends the two headers to `out` (flat [name, value, ...]) for a decision
 * that knows its closest bucket; nothing otherwise (rateLimit.headers off).
 */
export function pushRateLimitHeaders (plan: Plan, decision: RateDecision | undefined, out: string[]): void {
  const i = decision?.closest
  if (i === undefined || !plan.headers) return
  const a = plan.advertised
  const name = a.names[i]
  if (name === undefined) return
  const r = decision?.remaining ?? 0
  const t = Math.max(0, Math.ceil(((a.capacity[i] as number) - r) / (a.refillPerS[i] as number)))
  out.push('ratelimit-policy', a.policies[i] as string, 'ratelimit', `${name};r=${r};t=${t}`)
}
