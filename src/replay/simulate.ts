// One policy set replaying logged calls on a simulated clock: routing, the allow
// rules and the rate limits, decided by the same in-memory bucket store a
// running sluice uses (the clock is the call's arrival time, passed in).
// Nothing is sent anywhere; upstream answers, retries and breakers are not
// simulated, only whether and when each call would have gone.
import { Metrics } from '../observability/metrics.js'
import type { PolicySet, VendorPolicy } from '../policy/types.js'
import { VENDOR_KEY_VALUE, MISSING_KEY_VALUE } from '../ratelimit/keys.js'
import { MemoryStore } from '../ratelimit/memory.js'
import { compilePlan, type Plan } from '../ratelimit/plan.js'
import { isQueued } from '../ratelimit/verdict.js'
import { allowedBy } from '../pipeline/route.js'
import { splitQuery } from '../proxy/path.js'
import { TargetTable } from '../proxy/target.js'
import { WaitSamples } from './wait-samples.js'

/** One logged call, as replay reads it. */
export interface ReplayCall {
  /** arrival time, epoch ms */
  at: number
  method: string
  /** the request target as logged: /stripe/v1/charges?x=1 */
  path: string
  /** the vendor the log line names (a call routed by Host header logs the bare path) */
  vendor: string | undefined
  /** bucket name -> hashed key value, as logged */
  keys: Record<string, string> | undefined
}

export interface BucketStats {
  name: string
  calls: number
  allowed: number
  queued: number
  refused: number
  waits: WaitSamples
}

export interface VendorStats {
  vendor: string
  mode: 'enforce' | 'shadow'
  calls: number
  allowed: number
  queued: number
  refused: number
  notAllowed: number
  waits: WaitSamples
  buckets: BucketStats[]
}

interface Vendor {
  policy: VendorPolicy
  plan: Plan
  stats: VendorStats
  /** scratch: this call's key value per bucket */
  keyValues: string[]
}

/** What `routes` reads of a vendor for matching. */
interface Routed { policy: VendorPolicy, vendor: Vendor }

export class Simulation {
  readonly vendors: Vendor[]
  /** calls no policy of this set routes (404 no_route) */
  noRoute = 0
  private readonly targets: TargetTable<Routed>
  private readonly byName = new Map<string, Routed>()
  private readonly store = new MemoryStore()

  constructor (set: PolicySet) {
    // The plans want metric children; this set's own registry keeps them apart from any other.
    const metrics = new Metrics({ processMetrics: false })
    this.vendors = set.vendors.map(policy => ({
      policy,
      plan: compilePlan(policy, metrics),
      keyValues: policy.rateLimit.buckets.map(() => VENDOR_KEY_VALUE),
      stats: {
        vendor: policy.vendor,
        mode: policy.rateLimit.mode,
        calls: 0,
        allowed: 0,
        queued: 0,
        refused: 0,
        notAllowed: 0,
        waits: new WaitSamples(),
        buckets: policy.rateLimit.buckets.map(b => ({ name: b.name, calls: 0, allowed: 0, queued: 0, refused: 0, waits: new WaitSamples() })),
      },
    }))
    const routed = this.vendors.map(vendor => ({ policy: vendor.policy, vendor }))
    this.targets = new TargetTable(routed)
    for (const r of routed) this.byName.set(r.policy.vendor, r)
  }

  /** Calls must come in arrival order: the buckets only move forward in time. */
  replay (call: ReplayCall): void {
    let target = this.targets.match(call.path, undefined)
    let rest = target?.rest
    if (target === undefined || target === null) {
      // Routed by Host header when it was served: the log has the bare path and the vendor.
      const named = call.vendor === undefined ? undefined : this.byName.get(call.vendor)
      if (named === undefined || call.path.charCodeAt(0) !== 47) {
        this.noRoute++
        return
      }
      target = { vendor: named, rest: call.path, viaHost: true }
      rest = call.path
    }
    const v = target.vendor.vendor
    const s = v.stats
    s.calls++
    const [path] = splitQuery(rest as string)
    if (!allowedBy(v.policy.routes.allow, call.method, path)) {
      s.notAllowed++
      return
    }
    const plan = v.plan
    if (plan.size === 0) {
      s.allowed++
      return
    }
    const buckets = v.policy.rateLimit.buckets
    for (let i = 0; i < plan.size; i++) {
      const b = buckets[i] as VendorPolicy['rateLimit']['buckets'][number]
      v.keyValues[i] = b.key.kind === 'vendor' ? VENDOR_KEY_VALUE : (call.keys?.[b.name] ?? MISSING_KEY_VALUE)
      ;(s.buckets[i] as BucketStats).calls++
    }
    const verdict = this.store.decide(plan, v.keyValues, v.policy.timeouts.totalMs, call.at)
    if (verdict.refused) {
      s.refused++
      ;(s.buckets[verdict.bucket] as BucketStats).refused++
      return
    }
    s.allowed++
    for (let i = 0; i < plan.size; i++) {
      const bs = s.buckets[i] as BucketStats
      bs.allowed++
      if (verdict.queuedMask > 0 && isQueued(verdict.queuedMask, i)) bs.queued++
    }
    if (verdict.waitMs > 0) {
      s.queued++
      s.waits.add(verdict.waitMs)
      ;(s.buckets[verdict.bucket] as BucketStats).waits.add(verdict.waitMs)
    }
  }

  /** The longest a call of this set can last: how far log lines may be out of arrival order. */
  get longestCallMs (): number {
    return this.vendors.reduce((m, v) => Math.max(m, v.policy.timeouts.totalMs), 0)
  }
}
