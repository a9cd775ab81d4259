// The rate limiter the pipeline calls: picks the store (Redis while it answers,
// else the local buckets or a refusal per failMode), hands out tokens leased
// from Redis for high-rate buckets (lease.ts), sleeps out a queue wait once
// (queue.ts: a call may leave early, and calls move up when a turn comes
// free), takes back the tokens of calls that are not sent after all, applies
// shadow mode and counts every decision.
import type { Metrics } from '../observability/metrics.js'
import { randomUUID } from 'node:crypto'
import { pauseKey, REPLICAS_KEY } from './keys.js'
import { LeaseBook, leaseKey } from './lease.js'
import { MemoryStore } from './memory.js'
import type { Plan } from './plan.js'
import { WaitQueue } from './queue.js'
import { RedisStore } from './redis-store.js'
import { localStore, sharedStore, type BucketStore, type StoreKind } from './store.js'
import type { BucketLevels, LimiterLogger, QueueWaiter, RateDecision, RateLimiter } from './types.js'
import { hashKeyValue, MISSING_KEY_VALUE, VENDOR_KEY_VALUE } from './keys.js'
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
  /** how often this replica announces itself in Redis (default 5000) */
  announceEveryMs?: number
  /** how long an announcement lasts (default 15000) */
  announceTtlMs?: number
}

const ANNOUNCE_EVERY_MS = 5000
const ANNOUNCE_TTL_MS = 15_000

/** The longest ready() waits for the first connection: past the store's connect timeout. */
const READY_WAIT_MS = 2000

/** What a redis_unavailable refusal suggests: about when the next probe may find Redis back. */
const REDIS_RETRY_AFTER_MS = 1000

/** The longest close() waits for leased tokens to go back. */
const GIVE_BACK_WAIT_MS = 200

/** A call served from a lease: every bucket gave a token at once. */
const LEASED: Verdict = Object.freeze({ refused: false, waitMs: 0, retryAfterMs: 0, bucket: -1, queuedMask: 0, closest: -1, remaining: 0 })

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
  /** this replica's buckets, behind the one store interface */
  private readonly local: BucketStore = localStore(this.memory, plan => this.localShare(plan))
  /** the Redis buckets behind the same interface; undefined without Redis */
  private readonly shared: BucketStore | undefined
  /** the store a decision's tokens came from (a lease's: Redis) */
  private readonly byKind: Record<StoreKind | 'lease', BucketStore> = { memory: this.local, redis: this.local, lease: this.local }
  private readonly leases: LeaseBook
  /** give-backs in flight, awaited (briefly) on close */
  private readonly givingBack = new Set<Promise<void>>()
  /** replicas seen in Redis at its last answer: an outage divides the local buckets by this */
  private replicas = 1
  private announcer: NodeJS.Timeout | undefined
  private readonly queue = new WaitQueue({
    giveBack: (plan, keyValues, store, costs) => this.toStore(plan, keyValues, store, costs),
    pausedUntil: (vendor) => this.memory.pauseEnd(vendor),
  })

  constructor (opts: RateLimiterOptions) {
    this.metrics = opts.metrics
    const { logger } = opts
    this.metrics.redisUp.set(0)
    this.leases = new LeaseBook((plan, keyValues, tokens) => this.byKind.lease.giveBack(plan, keyValues, tokens))
    this.metrics.replicasSeen.set(1)
    if (opts.redisUrl === undefined && (opts.clusterNodes === undefined || opts.clusterNodes.length === 0)) return
    const id = randomUUID()
    const ttl = opts.announceTtlMs ?? ANNOUNCE_TTL_MS
    const announce = (): void => {
      const redis = this.redis
      if (redis === undefined || !redis.up) return
      // Failure is handled by the store marking itself down; the last count stands.
      redis.announce(REPLICAS_KEY, id, ttl).then(n => {
        this.replicas = Math.max(1, n)
        this.metrics.replicasSeen.set(this.replicas)
      }, () => {})
    }
    this.announcer = setInterval(announce, opts.announceEveryMs ?? ANNOUNCE_EVERY_MS)
    this.announcer.unref()
    this.redis = new RedisStore({
      url: opts.redisUrl,
      clusterNodes: opts.clusterNodes,
      tlsCa: opts.redisTlsCa,
      ...(opts.redisCommandTimeoutMs === undefined ? {} : { commandTimeoutMs: opts.redisCommandTimeoutMs }),
      ...(opts.redisProbeEveryMs === undefined ? {} : { probeEveryMs: opts.redisProbeEveryMs }),
    }, {
      up: () => {
        this.metrics.redisUp.set(1)
        announce()
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
    this.shared = sharedStore(this.redis, sent => {
      this.givingBack.add(sent)
      sent.finally(() => this.givingBack.delete(sent)).catch(() => {})
    })
    this.byKind.redis = this.shared
    this.byKind.lease = this.shared
  }

  get redisUp (): boolean {
    return this.redis?.up ?? false
  }

  get usesRedis (): boolean {
    return this.redis !== undefined
  }

  acquire (plan: Plan, keyValues: readonly string[], deadlineMs: number, waiter?: QueueWaiter, costs?: readonly number[]): Promise<RateDecision> {
    if (plan.size === 0) return ALLOWED_NOW
    const redis = this.redis
    if (redis === undefined) return this.settle(plan, this.decideLocally(plan, keyValues, deadlineMs, costs), 'memory', keyValues, waiter, costs)
    if (!redis.up) return this.withoutRedis(plan, keyValues, deadlineMs, waiter, costs)
    if (plan.leaseCap < 2) return this.inRedis(redis, plan, keyValues, deadlineMs, waiter, costs)
    const now = Date.now()
    const key = leaseKey(plan, keyValues)
    if (this.leases.take(key, now)) return this.settle(plan, LEASED, 'lease', keyValues, waiter)
    const want = this.leases.want(plan, key, keyValues, now)
    if (want < 2) return this.inRedis(redis, plan, keyValues, deadlineMs, waiter, undefined)
    return redis.decide(plan, keyValues, deadlineMs - now, want).then(
      verdict => {
        this.leases.granted(plan, key, keyValues, verdict.refused ? 0 : verdict.taken, Date.now())
        return this.settle(plan, verdict, 'redis', keyValues, waiter)
      },
      () => this.withoutRedis(plan, keyValues, deadlineMs, waiter, undefined)
    )
  }

  async ready (): Promise<void> {
    const redis = this.redis
    if (redis === undefined) return
    let timer: NodeJS.Timeout | undefined
    await Promise.race([redis.settled, new Promise<void>(resolve => { timer = setTimeout(resolve, READY_WAIT_MS) })])
    clearTimeout(timer)
  }

  giveBack (plan: Plan, keyValues: readonly string[], decision: RateDecision): void {
    const store = decision.store
    if (store === undefined) return
    if (decision.costs !== undefined) {
      // A weighted turn is not one token: the whole reservation goes back to
      // the store, for whichever call asks next.
      this.toStore(plan, keyValues, this.byKind[store].kind, decision.costs)
      return
    }
    const now = Date.now()
    // The call's turn is now (it was allowed, at once or after its wait): a
    // call queued behind it here takes it, and its own later turn is the token
    // that goes back to the store that reserved it.
    const lineStore = this.byKind[store].kind
    const moved = this.queue.moveUp(lineKey(lineStore, plan, keyValues), now, plan.vendor)
    // A leased token nobody queued for goes back to the lease, for the next call here.
    if (store === 'lease' && !moved && this.leases.putBack(leaseKey(plan, keyValues), now)) return
    this.toStore(plan, keyValues, lineStore)
  }

  settleCost (plan: Plan, keyValues: readonly string[], decision: RateDecision, actual: ReadonlyArray<number | undefined>): void {
    const reserved = decision.costs
    const store = decision.store
    if (reserved === undefined || store === undefined) return
    let amounts: number[] | undefined
    for (let i = 0; i < plan.size; i++) {
      const a = actual[i]
      if (a === undefined || a === reserved[i]) continue
      amounts ??= new Array<number>(plan.size).fill(0)
      amounts[i] = (reserved[i] as number) - a
    }
    if (amounts === undefined) return
    this.byKind[store].adjust(plan, keyValues, amounts)
  }

  sync (plan: Plan, keyValues: readonly string[], remaining: number): void {
    if (plan.size === 0) return
    const i = plan.syncBucket
    if (i < 0) return
    this.current().lower(plan, i, keyValues[i] ?? '-', remaining)
  }

  async levels (plan: Plan): Promise<{ store: 'memory' | 'redis', buckets: BucketLevels[] }> {
    const buckets = plan.buckets
    const store = this.current()
    if (buckets.length === 0) return { store: store.kind, buckets: [] }
    const follows = store.planFor(plan)
    const out: BucketLevels[] = []
    for (let i = 0; i < plan.size; i++) {
      const b = buckets[i] as (typeof buckets)[number]
      const cap = follows.capacity[i] as number
      const rate = follows.refillPerMs[i] as number
      const prefix = plan.prefixes[i] as string
      // A store that does not answer: what this replica holds.
      const { now, entries } = (await store.entries(prefix, LEVELS_SCAN_MAX)) ?? (await this.local.entries(prefix, LEVELS_SCAN_MAX))!
      const levels = entries.map(([key, t, at]): [string, number] => [key, round(Math.min(cap, t + (now > at ? (now - at) * rate : 0)))])
      const row: BucketLevels = {
        name: b.name,
        capacity: plan.capacity[i] as number,
        refill: b.refill,
        key: b.key.kind === 'header' ? `header:${b.key.name}` : b.key.kind,
      }
      if (b.key.kind === 'vendor') {
        row.level = levels.find(([k]) => k === VENDOR_KEY_VALUE)?.[1] ?? round(cap)
      } else {
        // Header values are hashed in the key names already; a client address is hashed here.
        const hashed = (k: string): string => b.key.kind === 'ip' && k !== MISSING_KEY_VALUE ? hashKeyValue(k) : k
        row.keys = levels.length
        row.lowest = levels.sort((x, y) => x[1] - y[1]).slice(0, LEVELS_LOWEST).map(([k, level]) => ({ key: hashed(k), level }))
      }
      out.push(row)
    }
    return { store: store.kind, buckets: out }
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

  async close (): Promise<void> {
    clearInterval(this.announcer)
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
  private inRedis (redis: RedisStore, plan: Plan, keyValues: readonly string[], deadlineMs: number, waiter: QueueWaiter | undefined,
    costs: readonly number[] | undefined): Promise<RateDecision> {
    return redis.decide(plan, keyValues, deadlineMs - Date.now(), 1, costs).then(
      verdict => this.settle(plan, verdict, 'redis', keyValues, waiter, costs),
      // The store has marked itself down: this call, and the next ones at once, go without it.
      () => this.withoutRedis(plan, keyValues, deadlineMs, waiter, costs)
    )
  }

  /** A call's tokens (one from each bucket, or its costs) back to the store that took them (Redis: lost if it is down since). */
  private toStore (plan: Plan, keyValues: readonly string[], kind: StoreKind, costs?: readonly number[]): void {
    const store = this.byKind[kind]
    if (costs !== undefined) store.adjust(plan, keyValues, costs)
    else store.giveBack(plan, keyValues, 1)
  }

  /** The store decisions are made in now: Redis while it answers, else the local buckets. */
  private current (): BucketStore {
    const shared = this.shared
    return shared !== undefined && shared.up ? shared : this.local
  }

  private decideLocally (plan: Plan, keyValues: readonly string[], deadlineMs: number, costs: readonly number[] | undefined): Verdict {
    const now = Date.now()
    return this.memory.decide(this.localShare(plan), keyValues, deadlineMs - now, now, costs)
  }

  /**
   * The plan the local buckets follow: as written without Redis; while Redis
   * is down, this replica's share of it (capacity and refill divided by the
   * replicas last seen), so the fleet together stays near the vendor's limit.
   */
  private localShare (plan: Plan): Plan {
    const n = this.replicas
    if (this.redis === undefined || n <= 1) return plan
    const known = plan.share
    if (known !== undefined && known.replicas === n) return known.plan
    const share: Plan = { ...plan, capacity: plan.capacity.map(c => c / n), refillPerMs: plan.refillPerMs.map(r => r / n), share: undefined }
    plan.share = { replicas: n, plan: share }
    return share
  }

  private withoutRedis (plan: Plan, keyValues: readonly string[], deadlineMs: number, waiter: QueueWaiter | undefined,
    costs: readonly number[] | undefined): Promise<RateDecision> {
    if (plan.failOpen) return this.settle(plan, this.decideLocally(plan, keyValues, deadlineMs, costs), 'memory', keyValues, waiter, costs)
    return plan.shadow ? REDIS_DOWN_SHADOW : REDIS_DOWN
  }

  /** Count the verdict, then answer: refuse, let through, or sleep out the wait first. */
  private settle (plan: Plan, v: Verdict, store: 'memory' | 'redis' | 'lease', keyValues: readonly string[],
    waiter: QueueWaiter | undefined, costs?: readonly number[]): Promise<RateDecision> {
    const counters = plan.decisions
    if (v.refused) {
      counters[v.bucket]?.rejected.inc()
      const refused: RateDecision = {
        ok: plan.shadow,
        waitMs: 0,
        retryAfterMs: v.retryAfterMs,
        bucket: plan.names[v.bucket] as string,
        code: 'rate_limited',
        ...(plan.shadow ? { wouldLimit: true } : {}),
        ...(v.overCapacity === true ? { overCapacity: { cost: costs?.[v.bucket] ?? 1, capacity: plan.capacity[v.bucket] as number } } : {}),
        ...(plan.headers && v.closest >= 0 ? { closest: v.closest, remaining: v.remaining } : {}),
      }
      return Promise.resolve(refused)
    }
    for (let i = 0; i < plan.size; i++) {
      const c = counters[i]!
      if (v.queuedMask > 0 && isQueued(v.queuedMask, i)) c.queued.inc()
      else c.allowed.inc()
    }
    if (v.waitMs <= 0 && costs === undefined && (v.closest < 0 || !plan.headers)) return ALLOWED_BY_STORE[store]
    const bucket = v.bucket >= 0 ? plan.names[v.bucket] as string : undefined
    const extra = {
      ...(bucket !== undefined ? { bucket } : {}),
      ...(costs !== undefined ? { costs } : {}),
      ...(plan.headers && v.closest >= 0 ? { closest: v.closest, remaining: v.remaining } : {}),
    }
    if (v.waitMs <= 0) return Promise.resolve({ ok: true, waitMs: 0, retryAfterMs: 0, store, ...extra })
    if (plan.shadow) return Promise.resolve({ ok: true, waitMs: 0, retryAfterMs: 0, store, wouldLimit: true, ...extra })
    // Only a call every bucket serves at once is leased: a queued one decided in a store.
    const lineStore = this.byKind[store].kind
    return this.queue.wait(lineKey(lineStore, plan, keyValues), plan, keyValues, lineStore, bucket as string, v.waitMs, waiter, extra)
  }
}

/** GET /ratelimit: at most this many keys of one bucket are read, and this many lowest shown. */
const LEVELS_SCAN_MAX = 10_000
const LEVELS_LOWEST = 10

function round (tokens: number): number {
  return Math.round(tokens * 100) / 100
}

/** The queue line of calls drawing on these buckets and key values in one store. */
function lineKey (store: StoreKind, plan: Plan, keyValues: readonly string[]): string {
  return store + '\n' + leaseKey(plan, keyValues)
}
