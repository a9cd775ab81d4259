// Everything a decision needs that depends only on the policy, worked out once
// per policy load (VendorRuntime holds it): key prefixes, the script's fixed
// arguments, metric children, the cost plan and the advertised headers.
import type { Histogram } from 'prom-client'
import type { DeferredCount, Metrics, RateLimitDecision } from '../observability/metrics.js'
import type { BucketPolicy, VendorPolicy } from '../policy/types.js'
import { compileAdvertised, type Advertised } from './advertise.js'
import { compileCostPlan, type CostPlan } from './cost.js'
import { bucketKeyPrefix, fixedKeyValues, pauseKey } from './keys.js'

/** maxWaitMs of a bucket with `onLimit: reject`: it never queues. */
export const NO_QUEUE = -1

/**
 * A lease is at most this share of any bucket's capacity, and at most what
 * it refills in LEASE_REFILL_SPAN_MS: what replicas hold back stays small
 * next to what the bucket gives, so a tight bucket (capacity 8, 20/s) is
 * never leased at all.
 */
export const LEASE_CAPACITY_SHARE = 0.02
export const LEASE_REFILL_SPAN_MS = 50
/** Whatever the bucket, a lease never exceeds this many tokens. */
export const LEASE_MAX = 1000

export interface Plan {
  vendor: string
  size: number
  /** every bucket keyed by vendor: the key values of every call, made once (else undefined) */
  fixedKeys: readonly string[] | undefined
  /** the policy's buckets as written (GET /ratelimit shows their refill and key) */
  buckets: readonly BucketPolicy[]
  names: string[]
  /** Redis key prefix per bucket; the memory store uses the same names */
  prefixes: string[]
  pauseKey: string
  capacity: number[]
  refillPerMs: number[]
  /** per bucket: longest queue wait in ms, or NO_QUEUE */
  maxWaitMs: number[]
  shadow: boolean
  failOpen: boolean
  /** the bucket upstream.sync lowers to the vendor's remaining count; -1 for none */
  syncBucket: number
  /** rateLimit.headers: decisions carry the level of the bucket closest to refusing */
  headers: boolean
  /** the largest lease this policy's buckets allow; below 2, calls are never leased (never with costs) */
  leaseCap: number
  /** some bucket has a cost: calls reserve estimates and settle them, one store call each */
  weighted: boolean
  /** [pause key, bucket keys..., budget, per bucket capacity, refill, maxWait, cost, lease]: copied per call, keys, budget, costs and lease filled in */
  scriptArgs: Array<string | number>
  decisions: Array<Record<RateLimitDecision, DeferredCount>>
  wait: Histogram.Internal<'vendor'>
  /** what calls cost each bucket; undefined when no bucket has a cost */
  cost: CostPlan | undefined
  /** the RateLimit-Policy values and what the RateLimit header is worked out from */
  advertised: Advertised
  /**
   * The limiter's last local share of this plan (capacity and refill divided
   * by the replicas seen) while Redis is down; worked out again when the
   * replica count changes.
   */
  share: { replicas: number, plan: Plan } | undefined
}

export function compilePlan (policy: VendorPolicy, metrics: Metrics): Plan {
  const { vendor } = policy
  const buckets = policy.rateLimit.buckets
  const plan: Plan = {
    vendor,
    size: buckets.length,
    fixedKeys: fixedKeyValues(policy),
    buckets,
    names: buckets.map(b => b.name),
    prefixes: buckets.map(b => bucketKeyPrefix(vendor, b.name)),
    pauseKey: pauseKey(vendor),
    capacity: buckets.map(b => b.capacity),
    refillPerMs: buckets.map(b => b.refillPerMs),
    maxWaitMs: buckets.map(b => b.onLimit === 'queue' ? b.maxWaitMs : NO_QUEUE),
    shadow: policy.rateLimit.mode === 'shadow',
    failOpen: policy.rateLimit.failMode === 'open',
    headers: policy.rateLimit.headers,
    syncBucket: buckets.findIndex(b => b.name === policy.rateLimit.upstream.sync),
    // A lease hands out single tokens: a weighted call decides in the store.
    // So does one whose answer carries the RateLimit headers: it needs the bucket's level.
    leaseCap: buckets.some(b => b.cost !== undefined) || policy.rateLimit.headers ? 0 : leaseCap(buckets.map(b => b.capacity), buckets.map(b => b.refillPerMs)),
    weighted: buckets.some(b => b.cost !== undefined),
    scriptArgs: [pauseKey(vendor)],
    decisions: buckets.map(b => ({
      allowed: metrics.deferredCount(metrics.rateLimitDecisions, vendor, b.name, 'allowed'),
      queued: metrics.deferredCount(metrics.rateLimitDecisions, vendor, b.name, 'queued'),
      rejected: metrics.deferredCount(metrics.rateLimitDecisions, vendor, b.name, 'rejected'),
    })),
    wait: metrics.vendor(vendor).rateLimitWait,
    cost: compileCostPlan(policy),
    advertised: compileAdvertised(buckets),
    share: undefined,
  }
  for (let i = 0; i < plan.size; i++) plan.scriptArgs.push('')
  plan.scriptArgs.push(0)
  for (let i = 0; i < plan.size; i++) {
    plan.scriptArgs.push(plan.capacity[i] as number, plan.refillPerMs[i] as number, plan.maxWaitMs[i] as number, 1)
  }
  plan.scriptArgs.push(1)
  return plan
}

function leaseCap (capacity: readonly number[], refillPerMs: readonly number[]): number {
  let cap = LEASE_MAX
  for (let i = 0; i < capacity.length; i++) {
    cap = Math.min(cap, (capacity[i] as number) * LEASE_CAPACITY_SHARE, (refillPerMs[i] as number) * LEASE_REFILL_SPAN_MS)
  }
  return Math.floor(cap)
}
