// The rate limiter as the request pipeline sees it (`rateLimit`,
// README "Redis"). Stores (memory, Redis) sit behind it and are internal.
import type { Plan } from './plan.js'

export interface RateDecision {
  /** true: send the call (any queue wait is already over). false: answer `code`. */
  ok: boolean
  /** ms the call was held for its tokens (0 in shadow mode, which never delays) */
  waitMs: number
  /** on a refusal: ms until a retry would find every bucket able to serve it */
  retryAfterMs: number
  /** the bucket that refused the call, or that it queued longest for */
  bucket?: string
  /**
   * Where the call's tokens were taken (a lease: this replica's share of the
   * Redis buckets), so that giveBack returns them there; absent when nothing
   * was taken (a refusal, a cancelled wait, a vendor without buckets).
   */
  store?: 'memory' | 'redis' | 'lease'
  /**
   * Why the call was refused. In shadow mode `ok` stays true and `code` tells
   * what enforce mode would have answered (with `wouldLimit`). `cancelled`: the
   * call left the queue (QueueWaiter.cancelWait) and its tokens are back.
   */
  code?: 'rate_limited' | 'redis_unavailable' | 'cancelled'
  /** shadow mode only: enforce mode would have delayed or refused this call */
  wouldLimit?: boolean
  /** what the call reserved from each bucket, when the policy has costs: giveBack returns it, settleCost settles it */
  costs?: readonly number[]
  /** refused because the call's cost is over the bucket's capacity: no wait would admit it */
  overCapacity?: { cost: number, capacity: number }
  /**
   * The index of the bucket closest to refusing and the whole tokens it holds
   * after this call (on a refusal: the bucket that refused), for the
   * RateLimit headers; absent when not known (a leased token).
   */
  closest?: number
  remaining?: number
}

/**
 * A call that may leave while it is queued (its client hangs up). While the
 * call waits, the limiter sets `cancelWait`: calling it ends the wait at once
 * (the decision resolves `ok: false`, code `cancelled`), gives the tokens back
 * and moves the calls queued behind it up. A call already gone
 * (`clientGone`) when its decision comes is not queued at all.
 */
export interface QueueWaiter {
  cancelWait: (() => void) | undefined
  readonly clientGone: boolean
}

export interface RateLimiter {
  /**
   * One token from each of the vendor's buckets, all or none. Resolves after
   * any queue wait; never rejects. `plan` is the vendor's, compiled once per
   * policy load (compilePlan, held by VendorRuntime); `keyValues` comes from bucketKeyValues();
   * `deadlineMs` is the call's deadline in epoch ms; `waiter` lets a queued
   * call leave early; `costs`, when the policy has costs, what the call
   * reserves from each bucket (from estimateCosts()).
   */
  acquire (plan: Plan, keyValues: readonly string[], deadlineMs: number, waiter?: QueueWaiter, costs?: readonly number[]): Promise<RateDecision>
  /**
   * acquire() without a promise when none is needed: the decision itself
   * when it is made at once (a leased token, the local buckets, a refusal,
   * a vendor without buckets), else the promise acquire() would return (a
   * decision in Redis, a queue wait). Tokens are taken either way.
   */
  decide (plan: Plan, keyValues: readonly string[], deadlineMs: number, waiter?: QueueWaiter, costs?: readonly number[]): RateDecision | Promise<RateDecision>
  /**
   * Resolves once Redis has answered or failed for the first time (at most a
   * couple of seconds; at once without Redis). Until then every decision would
   * be taken as if Redis were down, so sluice waits for this before it listens.
   */
  ready (): Promise<void>
  /**
   * A call that took its tokens but will not be sent after all (a later stage
   * refused it, or its client left): its token goes back to each bucket at
   * once, and a call queued behind it on this replica moves up at once.
   * Nothing happens for a decision that took nothing.
   */
  giveBack (plan: Plan, keyValues: readonly string[], decision: RateDecision): void
  /**
   * A call that was sent and whose actual cost is now known: per bucket, the
   * difference to what it reserved is taken (the bucket may go below zero) or
   * given back, in one store call. `actual[i]` undefined: the estimate stands.
   */
  settleCost (plan: Plan, keyValues: readonly string[], decision: RateDecision, actual: ReadonlyArray<number | undefined>): void
  /**
   * The vendor says `remaining` calls are left (upstream.sync): the synced
   * bucket for these key values is lowered to it if it holds more, for every
   * replica sharing the Redis; never raised.
   */
  sync (plan: Plan, keyValues: readonly string[], remaining: number): void
  /** Hold off every call to `vendor` until `untilMs` (epoch ms), on every replica sharing the Redis. */
  pause (vendor: string, untilMs: number): void
  /**
   * Each bucket's current level for GET /ratelimit, from Redis while it is
   * up, else from this replica's local buckets. Key values are hashed.
   */
  levels (plan: Plan): Promise<{ store: 'memory' | 'redis', buckets: BucketLevels[] }>
  /** true while decisions are made in Redis */
  readonly redisUp: boolean
  /** true when Redis is configured (false: in-memory buckets, one replica) */
  readonly usesRedis: boolean
  close (): Promise<void>
}

/** One bucket as GET /ratelimit shows it. */
export interface BucketLevels {
  name: string
  capacity: number
  /** the refill as written */
  refill: string
  key: string
  /** a bucket keyed by vendor: its tokens now */
  level?: number
  /** a keyed bucket: how many key values hold a bucket (absent ones are full) ... */
  keys?: number
  /** ... and the lowest of them, key values hashed */
  lowest?: Array<{ key: string, level: number }>
}

export interface LimiterLogger {
  warn (obj: object, msg: string): void
  info (obj: object, msg: string): void
}
