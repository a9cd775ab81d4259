// The RateLimit-Policy and RateLimit response headers (IETF httpapi
// ratelimit-headers draft, structured-field form), naming the bucket closest
// to refusing the call:
//   RateLimit-Policy: "burst";q=100;w=4    q = capacity, w = seconds to refill from empty
//   RateLimit: "burst";r=42;t=1            r = whole tokens left, t = seconds until full again
import type { VendorPolicy } from '../policy/types.js'
import type { RateDecision } from './types.js'

interface Advertised {
  /** per bucket: its RateLimit-Policy value, and its refill in tokens per second */
  policies: string[]
  names: string[]
  capacity: number[]
  refillPerS: number[]
}

const byPolicy = new WeakMap<VendorPolicy, Advertised>()

function advertised (policy: VendorPolicy): Advertised {
  let a = byPolicy.get(policy)
  if (a === undefined) {
    const buckets = policy.rateLimit.buckets
    a = {
      names: buckets.map(b => JSON.stringify(b.name)),
      policies: buckets.map(b => `${JSON.stringify(b.name)};q=${b.capacity};w=${Math.max(1, Math.ceil(b.capacity / (b.refillPerMs * 1000)))}`),
      capacity: buckets.map(b => b.capacity),
      refillPerS: buckets.map(b => b.refillPerMs * 1000),
    }
    byPolicy.set(policy, a)
  }
  return a
}

/**
 * Appends the two headers to `out` (flat [name, value, ...]) for a decision
 * that knows its closest bucket; nothing otherwise (rateLimit.headers off).
 */
export function pushRateLimitHeaders (policy: VendorPolicy, decision: RateDecision | undefined, out: string[]): void {
  const i = decision?.closest
  if (i === undefined || !policy.rateLimit.headers) return
  const a = advertised(policy)
  const name = a.names[i]
  if (name === undefined) return
  const r = decision?.remaining ?? 0
  const t = Math.max(0, Math.ceil(((a.capacity[i] as number) - r) / (a.refillPerS[i] as number)))
  out.push('ratelimit-policy', a.policies[i] as string, 'ratelimit', `${name};r=${r};t=${t}`)
}
