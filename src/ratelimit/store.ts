// Where token buckets live, as the limiter sees them once a call's tokens are
// taken: one interface, two stores behind it (memory.ts in this process,
// redis-store.ts shared by replicas). A decision names the store that took
// its tokens; giving them back, settling a cost, lowering a bucket and reading
// levels go to that store without asking which one it is.
import type { MemoryStore } from './memory.js'
import type { Plan } from './plan.js'
import type { RedisStore } from './redis-store.js'

/** The store a decision's tokens were taken from, as RateDecision.store names it. */
export type StoreKind = 'memory' | 'redis'

export interface BucketStore {
  readonly kind: StoreKind
  /** false while the store cannot be used (Redis unreachable); the local store is always up */
  readonly up: boolean
  /** the capacity and refill this store's buckets follow for `plan` */
  planFor (plan: Plan): Plan
  /** `tokens` back to each of the plan's buckets; never throws (a store that is down loses them) */
  giveBack (plan: Plan, keyValues: readonly string[], tokens: number): void
  /** `amounts[i]` into bucket i (negative: taken); never throws */
  adjust (plan: Plan, keyValues: readonly string[], amounts: readonly number[]): void
  /** bucket `i` for this key value lowered to `level` if it holds more; never throws */
  lower (plan: Plan, i: number, keyValue: string, level: number): void
  /** the keys held under bucket prefix `prefix` (at most `max`), raw tokens and when; undefined when the store did not answer */
  entries (prefix: string, max: number): Promise<{ now: number, entries: Array<[string, number, number]> } | undefined>
}

/** This replica's buckets; `share` gives the plan they follow (divided by the replicas while Redis is down). */
export function localStore (memory: MemoryStore, share: (plan: Plan) => Plan): BucketStore {
  return {
    kind: 'memory',
    up: true,
    planFor: share,
    giveBack: (plan, keyValues, tokens) => { memory.giveBack(share(plan), keyValues, tokens, Date.now()) },
    adjust: (plan, keyValues, amounts) => { memory.adjust(share(plan), keyValues, amounts, Date.now()) },
    lower: (plan, i, keyValue, level) => { memory.lower(share(plan), i, keyValue, level, Date.now()) },
    entries: (prefix) => Promise.resolve({ now: Date.now(), entries: [...memory.entries(prefix)] }),
  }
}

/**
 * The buckets shared in Redis. Writes are sent only while it is up and lost
 * otherwise (a failure is handled by the store marking itself down); `track`
 * is handed each write in flight, so close() can wait for them.
 */
export function sharedStore (redis: RedisStore, track: (sent: Promise<void>) => void): BucketStore {
  return {
    kind: 'redis',
    get up () { return redis.up },
    planFor: (plan) => plan,
    giveBack: (plan, keyValues, tokens) => { if (redis.up) track(redis.giveBack(plan, keyValues, tokens).catch(() => {})) },
    adjust: (plan, keyValues, amounts) => { if (redis.up) track(redis.adjust(plan, keyValues, amounts).catch(() => {})) },
    lower: (plan, i, keyValue, level) => { if (redis.up) redis.lower(plan, i, keyValue, level).catch(() => {}) },
    entries: (prefix, max) => redis.scan(prefix, max).catch(() => undefined),
  }
}
