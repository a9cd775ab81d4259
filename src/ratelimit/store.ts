// Where token buckets live, as the limiter sees them: one interface, two stores
// behind it (memory.ts in this process, redis-store.ts shared by replicas).
// Both follow the decision rule in verdict.ts; the limiter picks which store
// decides a call (Redis while it answers, else the local one or a refusal per
// failMode) and never asks which one it holds afterwards.
import type { Plan } from './plan.js'
import type { Verdict } from './verdict.js'

/** The store a decision's tokens were taken from, as RateDecision.store names it. */
export type StoreKind = 'memory' | 'redis'

/** A decision, and how many tokens it took from each bucket (more than one: a lease). */
export interface StoreVerdict extends Verdict {
  taken: number
}

export interface BucketStore {
  readonly kind: StoreKind
  /** false while the store cannot decide (Redis unreachable); the local store is always up */
  readonly up: boolean
  /**
   * One decision: a token from each of the plan's buckets, all or none, up to
   * `lease` of them when every bucket can give that many at once (a store that
   * does not lease takes one). Synchronous where the store can be; a promise
   * that rejects means the store has just marked itself down.
   */
  decide (plan: Plan, keyValues: readonly string[], budgetMs: number, lease: number, now: number): StoreVerdict | Promise<StoreVerdict>
  /** `tokens` back to each of the plan's buckets; never throws (a store that is down loses them). */
  giveBack (plan: Plan, keyValues: readonly string[], tokens: number, now: number): void
  /** Holds off every call to `vendor` until `untilMs` (epoch ms); a shorter pause never cuts a longer one. */
  pause (vendor: string, untilMs: number, now: number): void
  close (): Promise<void>
}
