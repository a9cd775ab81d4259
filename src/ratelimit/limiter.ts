// The rate limiter the pipeline calls: picks the store (Redis while it answers,
// else the local buckets or a refusal per failMode), hands out tokens leased
// from Redis for high-rate buckets (lease.ts), sleeps out a queue wait once
// (queue.ts: a call may leave early, and calls move up when a turn comes
// free), takes back the tokens of calls that are not sent after all, applies
// shadow mode and counts every decision.
import type { Metrics } from '../observability/metrics.js'
import { LeaseBook, leaseKey } from './lease.js'
import { MemoryStore } from './memory.js'
import type { Plan } from './plan.js'
import { WaitQueue } from './queue.js'
import { RedisStore } from './redis-store.js'
import type { BucketStore, StoreKind } from './store.js'
import type { LimiterLogger, QueueWaiter, RateDecision, RateLimiter } from './types.js'
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
  /** this process's buckets: the only store without Redis, the fallback while it is down */
  private readonly local = new MemoryStore()
  /** the buckets every replica shares, when Redis is configured */
  private readonly shared: RedisStore | undefined
  /** each store by the name a decision carries, for giveBack */
  private readonly byKind: Record<StoreKind, BucketStore | undefined>
  private readonly leases: LeaseBook
  private readonly queue = new WaitQueue({
    pausedUntil: (vendor) => this.local.pauseEnd(vendor),
  })

  constructor (opts: RateLimiterOptions) {
    this.metrics = opts.metrics
    const { logger } = opts
    this.metrics.redisUp.set(0)
    this.leases = new LeaseBook((plan, keyValues, tokens) => { this.shared?.giveBack(plan, keyValues, tokens) })
    this.byKind = { memory: this.local, redis: undefined }
    if (opts.redisUrl === undefined && (opts.clusterNodes === undefined || opts.clusterNodes.length === 0)) return
    this.shared = new RedisStore({
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
    this.byKind.redis = this.shared
  }

  get redisUp (): boolean {
    return this.shared?.up ?? false
  }

  get usesRedis (): boolean {
    return this.shared !== undefined
  }

  acquire (plan: Plan, keyValues: readonly string[], deadlineMs: number, waiter?: QueueWaiter): Promise<RateDecision> {
    if (plan.size === 0) return ALLOWED_NOW
    const shared = this.shared
    if (shared === undefined) return this.decideIn(this.local, plan, keyValues, deadlineMs, 1, waiter)
    if (!shared.up) return this.withoutShared(plan, keyValues, deadlineMs, waiter)
    if (plan.leaseCap < 2) return this.decideIn(shared, plan, keyValues, deadlineMs, 1, waiter)
    const now = Date.now()
    const key = leaseKey(plan, keyValues)
    if (this.leases.take(key, now)) return this.settle(plan, LEASED, shared, 'lease', keyValues, waiter)
    const want = this.leases.want(plan, key, keyValues, now)
    return this.decideIn(shared, plan, keyValues, deadlineMs, want < 2 ? 1 : want, waiter)
  }

  async ready (): Promise<void> {
    const shared = this.shared
    if (shared === undefined) return
    let timer: NodeJS.Timeout | undefined
    await Promise.race([shared.settled, new Promise<void>(resolve => { timer = setTimeout(resolve, READY_WAIT_MS) })])
    clearTimeout(timer)
  }

  giveBack (plan: Plan, keyValues: readonly string[], decision: RateDecision): void {
    const tag = decision.store
    if (tag === undefined) return
    // A leased token was taken from the shared buckets.
    const store = this.byKind[tag === 'lease' ? 'redis' : tag]
    if (store === undefined) return
    const now = Date.now()
    // The call's turn is now (it was allowed, at once or after its wait): a
    // call queued behind it here takes it, and its own later turn is the token
    // that goes back to the store that reserved it.
    const moved = this.queue.moveUp(lineKey(store, plan, keyValues), now, plan.vendor)
    // A leased token nobody queued for goes back to the lease, for the next call here.
    if (tag === 'lease' && !moved && this.leases.putBack(leaseKey(plan, keyValues), now)) return
    store.giveBack(plan, keyValues, 1, now)
  }

  pause (vendor: string, untilMs: number): void {
    const now = Date.now()
    // Kept locally too, so this replica honours it should Redis go away.
    this.local.pause(vendor, untilMs, now)
    this.leases.pause(vendor, untilMs)
    this.shared?.pause(vendor, untilMs, now)
  }

  async close (): Promise<void> {
    this.leases.close()
    await this.shared?.close()
    await this.local.close()
  }

  /**
   * Redis is back: the vendor pauses this replica holds (one learnt during the
   * outage was kept only here) go to Redis, so every replica honours them.
   */
  private sharePauses (): void {
    const shared = this.shared
    if (shared === undefined) return
    const now = Date.now()
    for (const [vendor, until] of this.local.pausesAfter(now)) shared.pause(vendor, until, now)
  }

  /** One decision in `store`, `lease` tokens wanted (1: just this call's). */
  private decideIn (store: BucketStore, plan: Plan, keyValues: readonly string[], deadlineMs: number, lease: number,
    waiter: QueueWaiter | undefined): Promise<RateDecision> {
    const now = Date.now()
    const verdict = store.decide(plan, keyValues, deadlineMs - now, lease, now)
    if (!(verdict instanceof Promise)) return this.settle(plan, verdict, store, store.kind, keyValues, waiter)
    return verdict.then(
      v => {
        if (lease > 1) this.leases.granted(plan, leaseKey(plan, keyValues), keyValues, v.refused ? 0 : v.taken, Date.now())
        return this.settle(plan, v, store, store.kind, keyValues, waiter)
      },
      // The store has marked itself down: this call, and the next ones at once, go without it.
      () => this.withoutShared(plan, keyValues, deadlineMs, waiter)
    )
  }

  private withoutShared (plan: Plan, keyValues: readonly string[], deadlineMs: number, waiter: QueueWaiter | undefined): Promise<RateDecision> {
    if (plan.failOpen) return this.decideIn(this.local, plan, keyValues, deadlineMs, 1, waiter)
    return plan.shadow ? REDIS_DOWN_SHADOW : REDIS_DOWN
  }

  /** Count the verdict, then answer: refuse, let through, or sleep out the wait first. */
  private settle (plan: Plan, v: Verdict, store: BucketStore, tag: StoreKind | 'lease', keyValues: readonly string[],
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
    if (v.waitMs <= 0) return ALLOWED_BY_STORE[tag]
    const bucket = plan.names[v.bucket] as string
    if (plan.shadow) return Promise.resolve({ ok: true, waitMs: 0, retryAfterMs: 0, bucket, store: tag, wouldLimit: true })
    // Only a call every bucket serves at once is leased: a queued one was decided in a store.
    return this.queue.wait(lineKey(store, plan, keyValues), plan, keyValues, store, bucket, v.waitMs, waiter)
  }
}

/** The queue line of calls drawing on these buckets and key values in one store. */
function lineKey (store: BucketStore, plan: Plan, keyValues: readonly string[]): string {
  return store.kind + '\n' + leaseKey(plan, keyValues)
}
