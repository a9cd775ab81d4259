// The rate limiter the pipeline calls: picks the store (Redis while it answers,
// else the local buckets or a refusal per failMode), hands out tokens leased
// from Redis for high-rate buckets (lease.ts), sleeps out a queue wait once
// (queue.ts: a call may leave early, and calls move up when a turn comes
// free), takes back the tokens of calls that are not sent after all, applies
// shadow mode and counts every decision.
import type { Metrics } from '../observability/metrics.js'
import type { VendorPolicy } from '../policy/types.js'
import { pauseKey } from './keys.js'
import { LeaseBook, leaseKey } from './lease.js'
import { MemoryStore } from './memory.js'
import { compilePlan, type Plan } from './plan.js'
import { WaitQueue, type LineStore } from './queue.js'
import { RedisStore } from './redis-store.js'
import type { BucketLevel, LimiterLogger, QueueWaiter, RateDecision, RateLimiter } from './types.js'
import { isQueued, type Verdict } from './verdict.js'

export interface RateLimiterOptions {
  /** redis:// or rediss:// URL; neither this nor clusterNodes: in-memory buckets */
  redisUrl?: string | undefined
  /** seeds of a Redis Cluster: host:port, or redis:// / rediss:// URLs carrying the login */
  clusterNodes?: readonly string[] | undefined
  /** SLUICE_REDIS_CA_FILE's contents: a CA bundle trusted for rediss:// besides Node's own */
  redisTlsCa?: Buffer | undefined
  metrics: Metrics
  logger: LimiterLogger
  /** a Redis command slower than this counts as an outage (default 150) */
  redisCommandTimeoutMs?: number
  /** how often to PING Redis while it is down (default 1000) */
  redisProbeEveryMs?: number
}

/** The longest ready() waits for the first connection: past the store's connect timeout. */
const READY_WAIT_MS = 2000

/** What a redis_unavailable refusal suggests: about when the next probe may find Redis back. */
const REDIS_RETRY_AFTER_MS = 1000

/** The longest close() waits for leased tokens to go back. */
const GIVE_BACK_WAIT_MS = 200

/** A call served from a lease: every bucket gave a token at once. */
const LEASED: Verdict = Object.freeze({ refused: false, waitMs: 0, retryAfterMs: 0, bucket: -1, queuedMask: 0 })

const ALLOWED: RateDecision = Object.freeze({ ok: true, waitMs: 0, retryAfterMs: 0 })
const ALLOWED_NOW = Promise.resolve(ALLOWED)
// Allowed at once, by where the tokens were taken (for giveBack); one shared answer each.
const ALLOWED_BY_STORE: Readonly<Record<'memory' | 'redis' | 'lease', Promise<RateDecision>>> = Object.freeze({
  memory: Promise.resolve<RateDecision>(Object.freeze({ ok: true, waitMs: 0, retryAfterMs: 0, store: 'memory' })),
  redis: Promise.resolve<RateDecision>(Object.freeze({ ok: true, waitMs: 0, retryAfterMs: 0, store: 'redis' })),
  lease: Promise.resolve<RateDecision>(Object.freeze({ ok: true, waitMs: 0, retryAfterMs: 0, store: 'lease' })),
})
const REDIS_DOWN = Promise.resolve<RateDecision>(Object.freeze({
  ok: false, waitMs: 0, retryAfterMs: REDIS_RETRY_AFTER_MS, code: 'redis_unavailable',
}))
const REDIS_DOWN_SHADOW = Promise.resolve<RateDecision>(Object.freeze({
  ok: true, waitMs: 0, retryAfterMs: REDIS_RETRY_AFTER_MS, code: 'redis_unavailable', wouldLimit: true,
}))

export function createRateLimiter (opts: RateLimiterOptions): RateLimiter {
  return new TokenBucketLimiter(opts)
}

class TokenBucketLimiter implements RateLimiter {
  private readonly metrics: Metrics
  private readonly memory = new MemoryStore()
  private readonly redis: RedisStore | undefined
  private readonly plans = new WeakMap<VendorPolicy, Plan>()
  private readonly leases: LeaseBook
  /** give-backs in flight, awaited (briefly) on close */
  private readonly givingBack = new Set<Promise<void>>()
  private readonly queue = new WaitQueue({
    giveBack: (plan, keyValues, store) => this.toStore(plan, keyValues, store),
    pausedUntil: (vendor) => this.memory.pauseEnd(vendor),
  })

  constructor (opts: RateLimiterOptions) {
    this.metrics = opts.metrics
    const { logger } = opts
    this.metrics.redisUp.set(0)
    this.leases = new LeaseBook((plan, keyValues, tokens) => this.giveBackToRedis(plan, keyValues, tokens))
    if (opts.redisUrl === undefined && (opts.clusterNodes === undefined || opts.clusterNodes.length === 0)) return
    this.redis = new RedisStore({
      url: opts.redisUrl,
      clusterNodes: opts.clusterNodes,
      tlsCa: opts.redisTlsCa,
      ...(opts.redisCommandTimeoutMs === undefined ? {} : { commandTimeoutMs: opts.redisCommandTimeoutMs }),
      ...(opts.redisProbeEveryMs === undefined ? {} : { probeEveryMs: opts.redisProbeEveryMs }),
    }, {
      up: () => {
        this.metrics.redisUp.set(1)
        this.sharePauses()
        logger.info({}, 'redis available: rate limits are shared again')
      },
      down: (err) => {
        this.metrics.redisUp.set(0)
        this.leases.clear()
        logger.warn({ err: err instanceof Error ? err.message : String(err) },
          'redis unavailable: rate limits fall back to local buckets (failMode open) or refuse calls (failMode closed)')
      },
    })
  }

  get redisUp (): boolean {
    return this.redis?.up ?? false
  }

  get usesRedis (): boolean {
    return this.redis !== undefined
  }

  acquire (policy: VendorPolicy, keyValues: readonly string[], deadlineMs: number, waiter?: QueueWaiter): Promise<RateDecision> {
    if (policy.rateLimit.buckets.length === 0) return ALLOWED_NOW
    const plan = this.plan(policy)
    const redis = this.redis
    if (redis === undefined) return this.settle(plan, this.local(plan, keyValues, deadlineMs), 'memory', keyValues, waiter)
    if (!redis.up) return this.withoutRedis(plan, keyValues, deadlineMs, waiter)
    if (plan.leaseCap < 2) return this.inRedis(redis, plan, keyValues, deadlineMs, waiter)
    const now = Date.now()
    const key = leaseKey(plan, keyValues)
    if (this.leases.take(key, now)) return this.settle(plan, LEASED, 'lease', keyValues, waiter)
    const want = this.leases.want(plan, key, keyValues, now)
    if (want < 2) return this.inRedis(redis, plan, keyValues, deadlineMs, waiter)
    return redis.decide(plan, keyValues, deadlineMs - now, want).then(
      verdict => {
        this.leases.granted(plan, key, keyValues, verdict.refused ? 0 : verdict.taken, Date.now())
        return this.settle(plan, verdict, 'redis', keyValues, waiter)
      },
      () => this.withoutRedis(plan, keyValues, deadlineMs, waiter)
    )
  }

  async ready (): Promise<void> {
    const redis = this.redis
    if (redis === undefined) return
    let timer: NodeJS.Timeout | undefined
    await Promise.race([redis.settled, new Promise<void>(resolve => { timer = setTimeout(resolve, READY_WAIT_MS) })])
    clearTimeout(timer)
  }

  giveBack (policy: VendorPolicy, keyValues: readonly string[], decision: RateDecision): void {
    const store = decision.store
    if (store === undefined) return
    const plan = this.plan(policy)
    const now = Date.now()
    // The call's turn is now (it was allowed, at once or after its wait): a
    // call queued behind it here takes it, and its own later turn is the token
    // that goes back to the store that reserved it.
    const lineStore: LineStore = store === 'memory' ? 'memory' : 'redis'
    const moved = this.queue.moveUp(lineKey(lineStore, plan, keyValues), now, plan.vendor)
    // A leased token nobody queued for goes back to the lease, for the next call here.
    if (store === 'lease' && !moved && this.leases.putBack(leaseKey(plan, keyValues), now)) return
    this.toStore(plan, keyValues, lineStore)
  }

  pause (vendor: string, untilMs: number): void {
    // Kept locally too, so this replica honours it should Redis go away.
    this.memory.pause(vendor, untilMs)
    this.leases.pause(vendor, untilMs)
    const redis = this.redis
    if (redis === undefined || !redis.up) return
    const ms = untilMs - Date.now()
    // Failure is handled by the store marking itself down.
    if (ms > 0) redis.pause(pauseKey(vendor), ms).catch(() => {})
  }

  async levels (policy: VendorPolicy): Promise<BucketLevel[]> {
    const plan = this.plan(policy)
    const vendorKeyed = policy.rateLimit.buckets.map(b => b.key.kind === 'vendor')
    const redis = this.redis
    if (redis === undefined) return this.memory.levels(plan, Date.now())
    if (redis.up) {
      try {
        return await redis.levels(plan, vendorKeyed)
      } catch { /* the store has marked itself down */ }
    }
    return plan.names.map((bucket, i) => ({ bucket, capacity: plan.capacity[i] as number, tokens: null, keys: null }))
  }

  async close (): Promise<void> {
    this.leases.close()
    if (this.givingBack.size > 0) {
      let timer: NodeJS.Timeout | undefined
      await Promise.race([
        Promise.allSettled(this.givingBack),
        new Promise<void>(resolve => { timer = setTimeout(resolve, GIVE_BACK_WAIT_MS) }),
      ])
      clearTimeout(timer)
    }
    await this.redis?.close()
  }

  /**
   * Redis is back: the vendor pauses this replica holds (one learnt during the
   * outage was kept only here) go to Redis, so every replica honours them.
   */
  private sharePauses (): void {
    const redis = this.redis
    if (redis === undefined) return
    const now = Date.now()
    // Failure is handled by the store marking itself down.
    for (const [vendor, until] of this.memory.pausesAfter(now)) redis.pause(pauseKey(vendor), until - now).catch(() => {})
  }

  /** One decision in Redis for this call alone. */
  private inRedis (redis: RedisStore, plan: Plan, keyValues: readonly string[], deadlineMs: number, waiter: QueueWaiter | undefined): Promise<RateDecision> {
    return redis.decide(plan, keyValues, deadlineMs - Date.now(), 1).then(
      verdict => this.settle(plan, verdict, 'redis', keyValues, waiter),
      // The store has marked itself down: this call, and the next ones at once, go without it.
      () => this.withoutRedis(plan, keyValues, deadlineMs, waiter)
    )
  }

  /** One token back to each bucket of the store that took it (Redis: lost if it is down since). */
  private toStore (plan: Plan, keyValues: readonly string[], store: LineStore): void {
    if (store === 'redis') this.giveBackToRedis(plan, keyValues, 1)
    else this.memory.giveBack(plan, keyValues, 1, Date.now())
  }

  /** Unused leased tokens back to the shared buckets; lost if Redis is down. */
  private giveBackToRedis (plan: Plan, keyValues: readonly string[], tokens: number): void {
    const redis = this.redis
    if (redis === undefined || !redis.up) return
    // Failure is handled by the store marking itself down.
    const sent = redis.giveBack(plan, keyValues, tokens).catch(() => {})
    this.givingBack.add(sent)
    sent.finally(() => this.givingBack.delete(sent)).catch(() => {})
  }

  private plan (policy: VendorPolicy): Plan {
    let plan = this.plans.get(policy)
    if (plan === undefined) {
      plan = compilePlan(policy, this.metrics)
      this.plans.set(policy, plan)
    }
    return plan
  }

  private local (plan: Plan, keyValues: readonly string[], deadlineMs: number): Verdict {
    const now = Date.now()
    return this.memory.decide(plan, keyValues, deadlineMs - now, now)
  }

  private withoutRedis (plan: Plan, keyValues: readonly string[], deadlineMs: number, waiter: QueueWaiter | undefined): Promise<RateDecision> {
    if (plan.failOpen) return this.settle(plan, this.local(plan, keyValues, deadlineMs), 'memory', keyValues, waiter)
    return plan.shadow ? REDIS_DOWN_SHADOW : REDIS_DOWN
  }

  /** Count the verdict, then answer: refuse, let through, or sleep out the wait first. */
  private settle (plan: Plan, v: Verdict, store: 'memory' | 'redis' | 'lease', keyValues: readonly string[],
    waiter: QueueWaiter | undefined): Promise<RateDecision> {
    const counters = plan.decisions
    if (v.refused) {
      counters[v.bucket]?.rejected.inc()
      return Promise.resolve({
        ok: plan.shadow,
        waitMs: 0,
        retryAfterMs: v.retryAfterMs,
        bucket: plan.names[v.bucket] as string,
        code: 'rate_limited',
        ...(plan.shadow ? { wouldLimit: true } : {}),
      })
    }
    for (let i = 0; i < plan.size; i++) {
      const c = counters[i]!
      if (v.queuedMask > 0 && isQueued(v.queuedMask, i)) c.queued.inc()
      else c.allowed.inc()
    }
    if (v.waitMs <= 0) return ALLOWED_BY_STORE[store]
    const bucket = plan.names[v.bucket] as string
    if (plan.shadow) return Promise.resolve({ ok: true, waitMs: 0, retryAfterMs: 0, bucket, store, wouldLimit: true })
    // Only a call every bucket serves at once is leased: a queued one decided in a store.
    const lineStore: LineStore = store === 'memory' ? 'memory' : 'redis'
    return this.queue.wait(lineKey(lineStore, plan, keyValues), plan, keyValues, lineStore, bucket, v.waitMs, waiter)
  }
}

/** The queue line of calls drawing on these buckets and key values in one store. */
function lineKey (store: LineStore, plan: Plan, keyValues: readonly string[]): string {
  return (store === 'memory' ? 'm\n' : 'r\n') + leaseKey(plan, keyValues)
}
