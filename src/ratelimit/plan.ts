// Everything a decision needs that depends only on the policy, worked out once
// per policy load: key prefixes, the script's fixed arguments, metric children.
import type { Counter, Histogram } from 'prom-client'
import type { Metrics, RateLimitDecision } from '../observability/metrics.js'
import type { VendorPolicy } from '../policy/types.js'
import { bucketKeyPrefix, pauseKey } from './keys.js'

/** maxWaitMs of a bucket with `onLimit: reject`: it never queues. */
export const NO_QUEUE = -1

export interface Plan {
  vendor: string
  size: number
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
  /** [numkeys-fixed keys..., budget, per bucket capacity, refill, maxWait]: copied per call, keys and budget filled in */
  scriptArgs: Array<string | number>
  decisions: Array<Record<RateLimitDecision, Counter.Internal>>
  wait: Histogram.Internal<'vendor'>
}

export function compilePlan (policy: VendorPolicy, metrics: Metrics): Plan {
  const { vendor } = policy
  const buckets = policy.rateLimit.buckets
  const plan: Plan = {
    vendor,
    size: buckets.length,
    names: buckets.map(b => b.name),
    prefixes: buckets.map(b => bucketKeyPrefix(vendor, b.name)),
    pauseKey: pauseKey(vendor),
    capacity: buckets.map(b => b.capacity),
    refillPerMs: buckets.map(b => b.refillPerMs),
    maxWaitMs: buckets.map(b => b.onLimit === 'queue' ? b.maxWaitMs : NO_QUEUE),
    shadow: policy.rateLimit.mode === 'shadow',
    failOpen: policy.rateLimit.failMode === 'open',
    scriptArgs: [pauseKey(vendor)],
    decisions: buckets.map(b => ({
      allowed: metrics.rateLimitDecisions.labels(vendor, b.name, 'allowed'),
      queued: metrics.rateLimitDecisions.labels(vendor, b.name, 'queued'),
      rejected: metrics.rateLimitDecisions.labels(vendor, b.name, 'rejected'),
    })),
    wait: metrics.vendor(vendor).rateLimitWait,
  }
  for (let i = 0; i < plan.size; i++) plan.scriptArgs.push('')
  plan.scriptArgs.push(0)
  for (let i = 0; i < plan.size; i++) {
    plan.scriptArgs.push(plan.capacity[i] as number, plan.refillPerMs[i] as number, plan.maxWaitMs[i] as number)
  }
  return plan
}
