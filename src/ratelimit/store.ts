// Where token buckets live, as the limiter sees them: one interface, two
// stores behind it (LocalStore here, over memory.ts in this process;
// SharedStore in shared-store.ts, over redis-store.ts shared by replicas). The
// limiter asks the store deciding now for a call's tokens, and the store a
// decision names for everything after (giving back, settling a cost, lowering
// a bucket, reading levels), without asking which one it is.
import { MemoryStore } from './memory.js'
import type { Plan } from './plan.js'
import type { Verdict } from './verdict.js'

/** A store, as queue lines and GET /ratelimit name it. */
export type StoreKind = 'memory' | 'redis'
/** Where a decision's tokens were taken, as RateDecision.store names it: a store's buckets, or a lease of the shared ones. */
export type TokenSource = StoreKind | 'lease'

export interface BucketStore {
  readonly kind: StoreKind
  /** false while the store cannot be used (Redis unreachable); the local store is always up */
  readonly up: boolean
  /** where the tokens of a verdict decide() gives at once come from (a verdict it promises: `kind`) */
  readonly atOnce: TokenSource
  /**
   * A call's tokens, per the rule in verdict.ts: the verdict at once when the
   * store has it without asking anyone (the local buckets, a live lease's
   * token), else a promise of it that rejects when the store failed (it has
   * marked itself down then). `costs`: what the call takes from each bucket
   * (undefined: 1 from each).
   */
  decide (plan: Plan, keyValues: readonly string[], deadlineMs: number, costs: readonly number[] | undefined): Verdict | Promise<Verdict>
  /** the capacity and refill this store's buckets follow for `plan` */
  planFor (plan: Plan): Plan
  /** `tokens` back to each of the plan's buckets; never throws (a store that is down loses them) */
  giveBack (plan: Plan, keyValues: readonly string[], tokens: number): void
  /**
   * The token a call from `source` took and was not sent after all, with no
   * call queued here to take its turn: back where it came from (a leased one
   * to its lease while that lasts, for the next call here).
   */
  putBack (plan: Plan, keyValues: readonly string[], source: TokenSource): void
  /** `amounts[i]` into bucket i (negative: taken); never throws */
  adjust (plan: Plan, keyValues: readonly string[], amounts: readonly number[]): void
  /** bucket `i` for this key value lowered to `level` if it holds more; never throws */
  lower (plan: Plan, i: number, keyValue: string, level: number): void
  /** the vendor held off until `untilMs` (epoch ms) in this store; never throws (a store that is down does not hear it) */
  pause (vendor: string, untilMs: number): void
  /** the keys held under bucket prefix `prefix` (at most `max`), raw tokens and when; undefined when the store did not answer */
  entries (prefix: string, max: number): Promise<{ now: number, entries: Array<[string, number, number]> } | undefined>
}

/**
 * This replica's buckets, deciding at once; `share` gives the plan they follow
 * (divided by the replicas while Redis is down). Vendor pauses are always kept
 * here too, so this replica honours them whichever store decides.
 */
export class LocalStore implements BucketStore {
  readonly kind: StoreKind = 'memory'
  readonly up = true
  readonly atOnce: TokenSource = 'memory'
  private readonly memory = new MemoryStore()

  constructor (private readonly share: (plan: Plan) => Plan) {}

  decide (plan: Plan, keyValues: readonly string[], deadlineMs: number, costs: readonly number[] | undefined): Verdict {
    const now = Date.now()
    return this.memory.decide(this.share(plan), keyValues, deadlineMs - now, now, costs)
  }

  planFor (plan: Plan): Plan {
    return this.share(plan)
  }

  giveBack (plan: Plan, keyValues: readonly string[], tokens: number): void {
    this.memory.giveBack(this.share(plan), keyValues, tokens, Date.now())
  }

  putBack (plan: Plan, keyValues: readonly string[]): void {
    this.giveBack(plan, keyValues, 1)
  }

  adjust (plan: Plan, keyValues: readonly string[], amounts: readonly number[]): void {
    this.memory.adjust(this.share(plan), keyValues, amounts, Date.now())
  }

  lower (plan: Plan, i: number, keyValue: string, level: number): void {
    this.memory.lower(this.share(plan), i, keyValue, level, Date.now())
  }

  pause (vendor: string, untilMs: number): void {
    this.memory.pause(vendor, untilMs)
  }

  /** When this replica knows the vendor's pause ends (epoch ms; 0 or past: not paused). */
  pausedUntil (vendor: string): number {
    return this.memory.pauseEnd(vendor)
  }

  /** Each vendor paused after `now`, with when its pause ends. */
  pausesAfter (now: number): Array<[vendor: string, untilMs: number]> {
    return this.memory.pausesAfter(now)
  }

  entries (prefix: string): Promise<{ now: number, entries: Array<[string, number, number]> }> {
    return Promise.resolve({ now: Date.now(), entries: [...this.memory.entries(prefix)] })
  }
}
