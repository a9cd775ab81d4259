// Shared pieces of the rate limit tests: a limiter with its own metrics and a
// logger that records lines, readers for the metrics it counts, and the fake
// clock the in-memory tests run on.
import { afterEach, beforeEach, vi } from 'vitest'
import { Metrics, type RateLimitDecision } from '../../src/observability/metrics.js'
import type { VendorPolicy } from '../../src/policy/types.js'
import { compilePlan, createRateLimiter, type Plan, type RateDecision, type RateLimiter } from '../../src/ratelimit/index.js'
import type { QueueWaiter } from '../../src/ratelimit/types.js'
import { eventually } from '../helpers/wait.js'

export interface LogLine { level: 'warn' | 'info', obj: object, msg: string }

/**
 * The limiter as these tests drive it: by compiled policy, each turned once
 * into the plan a VendorRuntime would hold (with this limiter's metrics).
 */
export interface PolicyLimiter extends Omit<RateLimiter, 'acquire' | 'decide' | 'giveBack' | 'settleCost' | 'sync' | 'levels'> {
  acquire (policy: VendorPolicy, keyValues: readonly string[], deadlineMs: number, waiter?: QueueWaiter, costs?: readonly number[]): Promise<RateDecision>
  decide (policy: VendorPolicy, keyValues: readonly string[], deadlineMs: number, waiter?: QueueWaiter, costs?: readonly number[]): RateDecision | Promise<RateDecision>
  giveBack (policy: VendorPolicy, keyValues: readonly string[], decision: RateDecision): void
  settleCost (policy: VendorPolicy, keyValues: readonly string[], decision: RateDecision, actual: ReadonlyArray<number | undefined>): void
  sync (policy: VendorPolicy, keyValues: readonly string[], remaining: number): void
  levels (policy: VendorPolicy): ReturnType<RateLimiter['levels']>
  /** the plan `policy` is decided with */
  plan (policy: VendorPolicy): Plan
}

function byPolicy (limiter: RateLimiter, metrics: Metrics): PolicyLimiter {
  const plans = new WeakMap<VendorPolicy, Plan>()
  const plan = (policy: VendorPolicy): Plan => {
    let p = plans.get(policy)
    if (p === undefined) {
      p = compilePlan(policy, metrics)
      plans.set(policy, p)
    }
    return p
  }
  return {
    acquire: (policy, keyValues, deadlineMs, waiter, costs) => limiter.acquire(plan(policy), keyValues, deadlineMs, waiter, costs),
    decide: (policy, keyValues, deadlineMs, waiter, costs) => limiter.decide(plan(policy), keyValues, deadlineMs, waiter, costs),
    giveBack: (policy, keyValues, decision) => limiter.giveBack(plan(policy), keyValues, decision),
    settleCost: (policy, keyValues, decision, actual) => limiter.settleCost(plan(policy), keyValues, decision, actual),
    sync: (policy, keyValues, remaining) => limiter.sync(plan(policy), keyValues, remaining),
    levels: (policy) => limiter.levels(plan(policy)),
    plan,
    ready: () => limiter.ready(),
    pause: (vendor, untilMs) => limiter.pause(vendor, untilMs),
    get redisUp () { return limiter.redisUp },
    get usesRedis () { return limiter.usesRedis },
    close: () => limiter.close(),
  }
}

export interface TestLimiter {
  limiter: PolicyLimiter
  metrics: Metrics
  logs: LogLine[]
}

export function testLimiter (opts: {
  redisUrl?: string
  clusterNodes?: string[]
  redisCommandTimeoutMs?: number
  redisProbeEveryMs?: number
} = {}): TestLimiter {
  const metrics = new Metrics({ processMetrics: false })
  const logs: LogLine[] = []
  const limiter = createRateLimiter({
    ...opts,
    metrics,
    logger: {
      warn: (obj, msg) => logs.push({ level: 'warn', obj, msg }),
      info: (obj, msg) => logs.push({ level: 'info', obj, msg }),
    },
  })
  return { limiter: byPolicy(limiter, metrics), metrics, logs }
}

export async function decisions (metrics: Metrics, vendor: string, bucket: string, decision: RateLimitDecision): Promise<number> {
  const { values } = await metrics.rateLimitDecisions.get()
  const v = values.find(s => s.labels.vendor === vendor && s.labels.bucket === bucket && s.labels.decision === decision)
  return v?.value ?? 0
}

export async function waitCount (metrics: Metrics, vendor: string): Promise<number> {
  const { values } = await metrics.rateLimitWait.get()
  const v = values.find(s => s.labels.vendor === vendor && s.metricName === 'sluice_ratelimit_wait_seconds_count')
  return v?.value ?? 0
}

export async function redisUpGauge (metrics: Metrics): Promise<number> {
  const { values } = await metrics.redisUp.get()
  return values[0]?.value ?? -1
}

/**
 * `n` limiters sharing the Redis at `redisUrl` (replicas of one sluice),
 * returned once each decides there; each is also pushed on `open`, which the
 * test file closes after each test.
 */
/**
 * Replicas that share a working Redis. Their command timeout is long: on a
 * loaded machine the 150 ms default can fire, and a replica that takes Redis
 * for down decides from its local buckets, which is not what these tests are about.
 */
export async function redisReplicas (redisUrl: string, n: number, open: PolicyLimiter[]): Promise<PolicyLimiter[]> {
  const out: PolicyLimiter[] = []
  for (let i = 0; i < n; i++) {
    const { limiter } = testLimiter({ redisUrl, redisCommandTimeoutMs: SHARED_REDIS_TIMEOUT_MS })
    open.push(limiter)
    out.push(limiter)
  }
  await eventually(() => out.every(l => l.redisUp), { timeout: 5000, what: 'redis up' })
  return out
}

export const SHARED_REDIS_TIMEOUT_MS = 3000

/** Far enough ahead never to limit a call. */
export const NO_DEADLINE = Number.MAX_SAFE_INTEGER

/** The key values of a call to a policy whose buckets are all keyed by vendor. */
export const ALL = ['all']

/** Where the fake clock of useFakeClock starts (ms since the epoch). */
export const START = 1_700_000_000_000

/** Runs every test of the file on fake timers starting at START, back to real timers after each. */
export function useFakeClock (): void {
  beforeEach(() => {
    vi.useFakeTimers({ now: START })
  })
  afterEach(() => {
    vi.useRealTimers()
  })
}
