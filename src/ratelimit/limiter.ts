// The rate limiter the pipeline calls: picks the store that decides (the
// shared one while Redis answers, else the local buckets or a refusal per
// failMode), answers at once when nothing has to wait, sleeps out a queue
// wait once (queue.ts: a call may leave early, and calls move up when a turn
// comes free), takes back the tokens of calls that are not sent after all,
// applies shadow mode and counts every decision. Which store does what is
// behind the BucketStore interface (store.ts).
import type { Metrics } from '../observability/metrics.js'
import type { Plan } from './plan.js'
import { WaitQueue } from './queue.js'
import { SharedStore } from './shared-store.js'
import { LocalStore, type BucketStore, type StoreKind, type TokenSource } from './store.js'
import type { BucketLevels, LimiterLogger, QueueWaiter, RateDecision, RateLimiter } from './types.js'
import { hashKeyValue, MISSING_KEY_VALUE, VENDOR_KEY_VALUE } from './keys.js'
import { leaseKey } from './lease.js'
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

/** What a redis_unavailable refusal suggests: about when the next probe may find Redis back. */
const REDIS_RETRY_AFTER_MS = 1000

const ALLOWED: RateDecision = Object.freeze({ ok: true, waitMs: 0, retryAfterMs: 0 })
// Allowed at once, by where the tokens were taken (for giveBack); one shared answer each.
const ALLOWED_BY_SOURCE: Readonly<Record<TokenSource, RateDecision>> = Object.freeze({
  memory: Object.freeze<RateDecision>({ ok: true, waitMs: 0, retryAfterMs: 0, store: 'memory' }),
  redis: Object.freeze<RateDecision>({ ok: true, waitMs: 0, retryAfterMs: 0, store: 'redis' }),
  lease: Object.freeze<RateDecision>({ ok: true, waitMs: 0, retryAfterMs: 0, store: 'lease' }),
})
const REDIS_DOWN: RateDecision = Object.freeze({
  ok: false, waitMs: 0, retryAfterMs: REDIS_RETRY_AFTER_MS, code: 'redis_unavailable',
})
const REDIS_DOWN_SHADOW: RateDecision = Object.freeze({
  ok: true, waitMs: 0, retryAfterMs: REDIS_RETRY_AFTER_MS, code: 'redis_unavailable', wouldLimit: true,
})
/** acquire()'s promise of an answer shared by many calls: made once, not per call. */
const RESOLVED = new Map<RateDecision, Promise<RateDecision>>(
  [ALLOWED, ...Object.values(ALLOWED_BY_SOURCE), REDIS_DOWN, REDIS_DOWN_SHADOW].map(d => [d, Promise.resolve(d)])
)

export function createRateLimiter (opts: RateLimiterOptions): RateLimiter {
  return new TokenBucketLimiter(opts)
}

class TokenBucketLimiter implements RateLimiter {
  private readonly metrics: Metrics
  /** this replica's buckets: the store without Redis, the fallback of failMode open while it is down */
  private readonly local = new LocalStore(plan => this.localShare(plan))
  /** the buckets shared in Redis; undefined without Redis */
  private readonly shared: SharedStore | undefined
  /** the store a decision's tokens came from, by its RateDecision.store (a lease's: the shared store) */
  private readonly byKind: Record<TokenSource, BucketStore> = { memory: this.local, redis: this.local, lease: this.local }
  /** replicas seen in Redis at its last answer: an outage divides the local buckets by this */
  private replicas = 1
  private readonly queue = new WaitQueue({
    giveBack: (plan, keyValues, store, costs) => this.toStore(plan, keyValues, store, costs),
    pausedUntil: (vendor) => this.local.pausedUntil(vendor),
  })

  constructor (opts: RateLimiterOptions) {
    this.metrics = opts.metrics
    const { logger } = opts
    this.metrics.redisUp.set(0)
    this.metrics.replicasSeen.set(1)
    if (opts.redisUrl === undefined && (opts.clusterNodes === undefined || opts.clusterNodes.length === 0)) return
    this.shared = new SharedStore({
      url: opts.redisUrl,
      clusterNodes: opts.clusterNodes,
      tlsCa: opts.redisTlsCa,
      ...(opts.redisCommandTimeoutMs === undefined ? {} : { commandTimeoutMs: opts.redisCommandTimeoutMs }),
      ...(opts.redisProbeEveryMs === undefined ? {} : { probeEveryMs: opts.redisProbeEveryMs }),
      announceEveryMs: opts.announceEveryMs ?? ANNOUNCE_EVERY_MS,
      announceTtlMs: opts.announceTtlMs ?? ANNOUNCE_TTL_MS,
      localPauses: (now) => this.local.pausesAfter(now),
    }, {
      up: () => {
        this.metrics.redisUp.set(1)
        logger.info({}, 'redis available: rate limits are shared again')
      },
      down: (err) => {
        this.metrics.redisUp.set(0)
        logger.warn({ err: err instanceof Error ? err.message : String(err) },
          'redis unavailable: rate limits fall back to local buckets (failMode open) or refuse calls (failMode closed)')
      },
      replicas: (n) => {
        this.replicas = n
        this.metrics.replicasSeen.set(n)
      },
    })
    this.byKind.redis = this.shared
    this.byKind.lease = this.shared
  }

  get redisUp (): boolean {
    return this.shared?.up ?? false
  }

  get usesRedis (): boolean {
    return this.shared !== undefined
  }

  decide (plan: Plan, keyValues: readonly string[], deadlineMs: number, waiter?: QueueWaiter, costs?: readonly number[]): RateDecision | Promise<RateDecision> {
    if (plan.size === 0) return ALLOWED
    const shared = this.shared
    if (shared !== undefined && !shared.up) return this.withoutShared(plan, keyValues, deadlineMs, waiter, costs)
    return this.decideIn(shared ?? this.local, plan, keyValues, deadlineMs, waiter, costs)
  }

  acquire (plan: Plan, keyValues: readonly string[], deadlineMs: number, waiter?: QueueWaiter, costs?: readonly number[]): Promise<RateDecision> {
    const decision = this.decide(plan, keyValues, deadlineMs, waiter, costs)
    return decision instanceof Promise ? decision : RESOLVED.get(decision) ?? Promise.resolve(decision)
  }

  async ready (): Promise<void> {
    await this.shared?.ready()
  }

  giveBack (plan: Plan, keyValues: readonly string[], decision: RateDecision): void {
    const source = decision.store
    if (source === undefined) return
    const store = this.byKind[source]
    if (decision.costs !== undefined) {
      // A weighted turn is not one token: the whole reservation goes back to
      // the store, for whichever call asks next.
      store.adjust(plan, keyValues, decision.costs)
      return
    }
    // The call's turn is now (it was allowed, at once or after its wait): a
    // call queued behind it here takes it, and its own later turn is the token
    // that goes back to the store that reserved it.
    if (this.queue.moveUp(lineKey(store.kind, plan, keyValues), Date.now(), plan.vendor)) store.giveBack(plan, keyValues, 1)
    else store.putBack(plan, keyValues, source)
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

  async levels (plan: Plan): Promise<{ store: StoreKind, buckets: BucketLevels[] }> {
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
      const { now, entries } = (await store.entries(prefix, LEVELS_SCAN_MAX)) ?? (await this.local.entries(prefix))
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
    this.local.pause(vendor, untilMs)
    this.shared?.pause(vendor, untilMs)
  }

  async close (): Promise<void> {
    await this.shared?.close()
  }

  /** The decision in `store`: at once when the store gives its verdict at once, else a promise. */
  private decideIn (store: BucketStore, plan: Plan, keyValues: readonly string[], deadlineMs: number, waiter: QueueWaiter | undefined,
    costs: readonly number[] | undefined): RateDecision | Promise<RateDecision> {
    const verdict = store.decide(plan, keyValues, deadlineMs, costs)
    if (!(verdict instanceof Promise)) return this.settle(plan, verdict, store, store.atOnce, keyValues, waiter, costs)
    return verdict.then(
      v => this.settle(plan, v, store, store.kind, keyValues, waiter, costs),
      // The store has marked itself down: this call, and the next ones at once, go without it.
      () => this.withoutShared(plan, keyValues, deadlineMs, waiter, costs)
    )
  }

  /** A call's tokens (one from each bucket, or its costs) back to the store that took them (Redis: lost if it is down since). */
  private toStore (plan: Plan, keyValues: readonly string[], kind: StoreKind, costs?: readonly number[]): void {
    const store = this.byKind[kind]
    if (costs !== undefined) store.adjust(plan, keyValues, costs)
    else store.giveBack(plan, keyValues, 1)
  }

  /** The store decisions are made in now: the shared one while it answers, else the local buckets. */
  private current (): BucketStore {
    const shared = this.shared
    return shared !== undefined && shared.up ? shared : this.local
  }

  /**
   * The plan the local buckets follow: as written without Redis; while Redis
   * is down, this replica's share of it (capacity and refill divided by the
   * replicas last seen), so the fleet together stays near the vendor's limit.
   */
  private localShare (plan: Plan): Plan {
    const n = this.replicas
    if (n <= 1) return plan
    const known = plan.share
    if (known !== undefined && known.replicas === n) return known.plan
    const share: Plan = { ...plan, capacity: plan.capacity.map(c => c / n), refillPerMs: plan.refillPerMs.map(r => r / n), share: undefined }
    plan.share = { replicas: n, plan: share }
    return share
  }

  /** Redis is configured and does not answer: the local buckets (failMode open), or a refusal. */
  private withoutShared (plan: Plan, keyValues: readonly string[], deadlineMs: number, waiter: QueueWaiter | undefined,
    costs: readonly number[] | undefined): RateDecision | Promise<RateDecision> {
    if (plan.failOpen) return this.decideIn(this.local, plan, keyValues, deadlineMs, waiter, costs)
    return plan.shadow ? REDIS_DOWN_SHADOW : REDIS_DOWN
  }

  /** Count the verdict, then answer: refuse, let through, or sleep out the wait first (the one answer that is a promise). */
  private settle (plan: Plan, v: Verdict, store: BucketStore, source: TokenSource, keyValues: readonly string[],
    waiter: QueueWaiter | undefined, costs: readonly number[] | undefined): RateDecision | Promise<RateDecision> {
    const counters = plan.decisions
    if (v.refused) {
      counters[v.bucket]?.rejected.inc()
      return {
        ok: plan.shadow,
        waitMs: 0,
        retryAfterMs: v.retryAfterMs,
        bucket: plan.names[v.bucket] as string,
        code: 'rate_limited',
        ...(plan.shadow ? { wouldLimit: true } : {}),
        ...(v.overCapacity === true ? { overCapacity: { cost: costs?.[v.bucket] ?? 1, capacity: plan.capacity[v.bucket] as number } } : {}),
        ...(plan.headers && v.closest >= 0 ? { closest: v.closest, remaining: v.remaining } : {}),
      }
    }
    for (let i = 0; i < plan.size; i++) {
      const c = counters[i]!
      if (v.queuedMask > 0 && isQueued(v.queuedMask, i)) c.queued.inc()
      else c.allowed.inc()
    }
    if (v.waitMs <= 0 && costs === undefined && (v.closest < 0 || !plan.headers)) return ALLOWED_BY_SOURCE[source]
    const bucket = v.bucket >= 0 ? plan.names[v.bucket] as string : undefined
    const extra = {
      ...(bucket !== undefined ? { bucket } : {}),
      ...(costs !== undefined ? { costs } : {}),
      ...(plan.headers && v.closest >= 0 ? { closest: v.closest, remaining: v.remaining } : {}),
    }
    if (v.waitMs <= 0) return { ok: true, waitMs: 0, retryAfterMs: 0, store: source, ...extra }
    if (plan.shadow) return { ok: true, waitMs: 0, retryAfterMs: 0, store: source, wouldLimit: true, ...extra }
    // Only a call every bucket serves at once is leased: a queued one decided in a store.
    return this.queue.wait(lineKey(store.kind, plan, keyValues), plan, keyValues, store.kind, bucket as string, v.waitMs, waiter, extra)
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
