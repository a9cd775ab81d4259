// The rate limiter as the request pipeline sees it (`rateLimit`,
// README "Redis"). Stores (memory, Redis) sit behind it and are internal.
import type { VendorPolicy } from '../policy/types.js'

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
   * any queue wait; never rejects. `keyValues` comes from bucketKeyValues();
   * `deadlineMs` is the call's deadline in epoch ms; `waiter` lets a queued
   * call leave early.
   */
  acquire (policy: VendorPolicy, keyValues: readonly string[], deadlineMs: number, waiter?: QueueWaiter): Promise<RateDecision>
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
  giveBack (policy: VendorPolicy, keyValues: readonly string[], decision: RateDecision): void
  /** Hold off every call to `vendor` until `untilMs` (epoch ms), on every replica sharing the Redis. */
  pause (vendor: string, untilMs: number): void
  /** Each bucket's level, read only: from Redis while decisions are made there, else from memory. */
  levels (policy: VendorPolicy): Promise<BucketLevel[]>
  /** true while decisions are made in Redis */
  readonly redisUp: boolean
  /** true when Redis is configured (false: in-memory buckets, one replica) */
  readonly usesRedis: boolean
  close (): Promise<void>
}

/** One bucket of a vendor as it stands now, for people (the admin status page). */
export interface BucketLevel {
  bucket: string
  capacity: number
  /**
   * Tokens in the bucket now; for a bucket keyed per client (ip, header) the
   * lowest of its keys. null when unknown: a keyed bucket in Redis (its keys
   * are not listed), or Redis not answering.
   */
  tokens: number | null
  /** keys this bucket holds state for (absent keys are full); null when unknown */
  keys: number | null
}

export interface LimiterLogger {
  warn (obj: object, msg: string): void
  info (obj: object, msg: string): void
}
