// Compiled VendorPolicy objects for the rate limit tests: a thin wrapper over
// test/helpers/policy.ts, which compiles a policy file through the real
// defaults and compiler. Buckets are still described in the numbers these tests
// think in (tokens per second, ms) and written out as the policy file would say it.
import type { BucketKey, RateLimitPolicy, VendorPolicy } from '../../src/policy/types.js'
import { vendorPolicy, type RawPolicy } from '../helpers/policy.js'

type RateLimitSection = NonNullable<RawPolicy['rateLimit']>
type BucketSection = NonNullable<RateLimitSection['buckets']>[number]

export interface BucketSpec {
  name?: string
  capacity: number
  /** tokens per second */
  perSecond: number
  key?: BucketKey
  onLimit?: 'queue' | 'reject'
  maxWaitMs?: number
  /** the bucket's `cost` as the policy file writes it */
  cost?: BucketSection['cost']
}

function keyText (key: BucketKey): string {
  return key.kind === 'header' ? `header:${key.name}` : key.kind
}

// Unlike the policy file's defaults (queue, 2s), a bucket here rejects at once
// unless the test says otherwise.
function bucketSection (spec: BucketSpec): BucketSection {
  return {
    name: spec.name ?? 'burst',
    capacity: spec.capacity,
    refill: `${spec.perSecond}/s`,
    key: keyText(spec.key ?? { kind: 'vendor' }),
    onLimit: spec.onLimit ?? 'reject',
    maxWait: `${spec.maxWaitMs ?? 0}ms`,
    ...(spec.cost !== undefined ? { cost: spec.cost } : {}),
  }
}

let seq = 0

/** A unique vendor name per call, so tests sharing one Redis never share buckets. */
export function uniqueVendor (base = 'v'): string {
  seq++
  return `${base}-${process.pid}-${seq}-${Math.random().toString(36).slice(2, 8)}`
}

export function policy (opts: {
  vendor?: string
  buckets: BucketSpec[]
  mode?: RateLimitPolicy['mode']
  failMode?: RateLimitPolicy['failMode']
  upstream?: Partial<RateLimitPolicy['upstream']>
  headers?: boolean
}): VendorPolicy {
  const rateLimit: RateLimitSection = { buckets: opts.buckets.map(bucketSection) }
  if (opts.headers !== undefined) rateLimit.headers = opts.headers
  if (opts.mode !== undefined) rateLimit.mode = opts.mode
  if (opts.failMode !== undefined) rateLimit.failMode = opts.failMode
  if (opts.upstream !== undefined) {
    // A field given as undefined is one the policy file leaves out.
    rateLimit.upstream = Object.fromEntries(Object.entries(opts.upstream).filter(([, v]) => v !== undefined))
  }
  return vendorPolicy({ vendor: opts.vendor ?? uniqueVendor(), upstream: 'https://api.example.com', rateLimit })
}
