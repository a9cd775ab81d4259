// What GET /status.json answers and the status page shows: per vendor the
// breaker, each bucket's level against its capacity, calls/s and the share of
// 5xx answers over the last minute, p50/p99 of the call duration since start,
// and whether its credentials can be had; the last reload; async jobs (null
// while there is no job store). Nothing secret: credentials are named by
// their reference, never a value.
import type { BreakerState } from '../resilience/breaker.js'
import type { ProxyRuntime } from '../runtime/proxy-runtime.js'

/** One bucket as a person reads it: how full, against its capacity. */
interface BucketLevel {
  bucket: string
  capacity: number
  /** tokens now; for a bucket keyed per client (ip, header), the lowest of its keys */
  tokens: number | null
  /** a keyed bucket: how many keys hold state (absent keys are full); null for a bucket keyed by vendor */
  keys: number | null
}

export interface VendorStatus {
  name: string
  breaker: BreakerState
  buckets: BucketLevel[]
  /** over the last minute */
  callsPerSecond: number
  callsLastMinute: number
  /** share of the last minute's calls answered 5xx, 0..1 */
  errorShare: number
  /** call duration quantiles since start, ms; null before the first call */
  p50Ms: number | null
  p99Ms: number | null
  credentials: { available: boolean, unavailable: string[] }
}

export interface StatusReport {
  at: string
  draining: boolean
  inFlight: number
  redis: { configured: boolean, up: boolean }
  lastReload: { at: string, result: 'success' | 'failure', problems: string[] } | null
  /** async jobs (dead: up to DEAD_LISTED); null while sluice has no job store */
  jobs: { pending: number, dead: number } | null
  vendors: VendorStatus[]
}

/** the most dead jobs counted for the page; past it, the page shows this many */
const DEAD_LISTED = 1000

export async function statusReport (runtime: ProxyRuntime): Promise<StatusReport> {
  const now = Date.now()
  const vendors = await Promise.all(runtime.current.vendors.map(async (v): Promise<VendorStatus> => {
    const window = v.metrics.window.summary(now)
    const duration = v.metrics.requestDuration
    const p50 = duration.quantile(0.5)
    const p99 = duration.quantile(0.99)
    const unavailable = v.credentials.unavailable()
    return {
      name: v.name,
      breaker: v.breaker.state,
      buckets: (await runtime.limiter.levels(v.rateLimitPlan)).buckets.map((b): BucketLevel => ({
        bucket: b.name,
        capacity: b.capacity,
        tokens: b.level ?? (b.keys === 0 ? b.capacity : b.lowest?.[0]?.level ?? null),
        keys: b.keys ?? null,
      })),
      callsPerSecond: round(window.perSecond),
      callsLastMinute: window.calls,
      errorShare: round(window.errorShare),
      p50Ms: p50 === undefined ? null : round(p50 * 1000),
      p99Ms: p99 === undefined ? null : round(p99 * 1000),
      credentials: { available: unavailable.length === 0, unavailable },
    }
  }))
  const reload = runtime.lastReload
  return {
    at: new Date(now).toISOString(),
    draining: runtime.draining,
    inFlight: runtime.inFlight,
    redis: { configured: runtime.limiter.usesRedis, up: runtime.limiter.redisUp },
    lastReload: reload === undefined
      ? null
      : { at: new Date(reload.at).toISOString(), result: reload.ok ? 'success' : 'failure', problems: reload.problems },
    jobs: await jobCounts(runtime),
    vendors,
  }
}

async function jobCounts (runtime: ProxyRuntime): Promise<StatusReport['jobs']> {
  const store = runtime.jobs?.store
  if (store === undefined) return null
  const names = runtime.current.vendors.map(v => v.name)
  let pending = 0
  for (const n of (await store.pending(names)).values()) pending += n
  const dead = (await store.list({ status: 'dead' }, names, DEAD_LISTED)).length
  return { pending, dead }
}

function round (n: number): number {
  return Math.round(n * 1000) / 1000
}
