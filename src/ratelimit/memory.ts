// Token buckets in this process: the store when no Redis is configured, and
// the fallback of `failMode: open` while Redis is down. Decisions follow the
// rule in verdict.ts. No timer per bucket: a bucket is refilled when read, and
// full buckets (which are the same as absent ones) are swept now and then.
import type { Plan } from './plan.js'
import { EPSILON, NEVER_MS, type Verdict } from './verdict.js'

interface BucketState {
  tokens: number
  /** when tokens was last computed, epoch ms */
  at: number
  /** when the bucket will be full again: then it can be forgotten */
  fullAt: number
}

const SWEEP_EVERY_MS = 30_000

export class MemoryStore {
  private readonly buckets = new Map<string, BucketState>()
  private readonly pausedUntil = new Map<string, number>()
  private nextSweep = 0
  // Scratch space for one decision (decisions are synchronous, so one set suffices).
  private readonly keys: string[] = []
  private readonly tokens: number[] = []
  private readonly needs: number[] = []

  /** `costs`: what the call takes from each bucket (undefined: 1 from each). */
  decide (plan: Plan, keyValues: readonly string[], budgetMs: number, now: number, costs?: readonly number[]): Verdict {
    if (now >= this.nextSweep) this.sweep(now)
    const until = this.pausedUntil.get(plan.vendor)
    const pause = until !== undefined && until > now ? until - now : 0
    const { size, capacity, refillPerMs, maxWaitMs } = plan
    const { keys, tokens, needs } = this

    let wait = 0
    let longest = 0
    let tooBig = -1
    for (let i = 0; i < size; i++) {
      const cap = capacity[i] as number
      const rate = refillPerMs[i] as number
      const cost = costs === undefined ? 1 : costs[i] as number
      const key = (plan.prefixes[i] as string) + (keyValues[i] ?? '-')
      const state = this.buckets.get(key)
      let t = cap
      if (state !== undefined) {
        t = state.tokens + (now > state.at ? (now - state.at) * rate : 0)
        if (t > cap) t = cap
      }
      let need = 0
      if (t < cost - EPSILON) need = rate > 0 ? (cost - t) / rate : NEVER_MS
      if (need < pause) need = pause
      if (cost > cap && tooBig < 0) tooBig = i
      keys[i] = key
      tokens[i] = t
      needs[i] = need
      if (need > wait) { wait = need; longest = i }
    }
    if (tooBig >= 0) {
      return { refused: true, waitMs: 0, retryAfterMs: 0, bucket: tooBig, queuedMask: 0, overCapacity: true, closest: tooBig, remaining: whole(tokens[tooBig] as number) }
    }

    let refusedBy = -1
    let refusedNeed = -1
    for (let i = 0; i < size; i++) {
      const need = needs[i] as number
      const maxWait = maxWaitMs[i] as number
      if (need > 0 && (maxWait < 0 || wait > maxWait) && need > refusedNeed) {
        refusedBy = i
        refusedNeed = need
      }
    }
    if (refusedBy < 0 && wait > 0 && wait > budgetMs) refusedBy = longest
    if (refusedBy >= 0) {
      return { refused: true, waitMs: 0, retryAfterMs: Math.ceil(wait), bucket: refusedBy, queuedMask: 0, closest: refusedBy, remaining: whole(tokens[refusedBy] as number) }
    }

    let queuedMask = 0
    let closest = 0
    let lowest = Infinity
    for (let i = 0; i < size; i++) {
      const key = keys[i] as string
      const cap = capacity[i] as number
      const t = (tokens[i] as number) - (costs === undefined ? 1 : costs[i] as number)
      const rate = refillPerMs[i] as number
      const fullAt = rate > 0 ? now + (cap - t) / rate : now + NEVER_MS
      const state = this.buckets.get(key)
      if (state === undefined) {
        this.buckets.set(key, { tokens: t, at: now, fullAt })
      } else {
        state.tokens = t
        state.at = now
        state.fullAt = fullAt
      }
      if ((needs[i] as number) > 0) queuedMask += 2 ** i
      if (t / cap < lowest) { lowest = t / cap; closest = i }
    }
    return {
      refused: false,
      waitMs: Math.ceil(wait),
      retryAfterMs: 0,
      bucket: wait > 0 ? longest : -1,
      queuedMask,
      closest,
      remaining: whole((tokens[closest] as number) - (costs === undefined ? 1 : costs[closest] as number)),
    }
  }

  /**
   * `amounts[i]` tokens into bucket i: positive gives back (never above
   * capacity), negative takes more (the bucket may go below zero, so the next
   * calls wait). A settled cost.
   */
  adjust (plan: Plan, keyValues: readonly string[], amounts: readonly number[], now: number): void {
    for (let i = 0; i < plan.size; i++) {
      const n = amounts[i] as number
      if (n === 0) continue
      const key = (plan.prefixes[i] as string) + (keyValues[i] ?? '-')
      const cap = plan.capacity[i] as number
      const rate = plan.refillPerMs[i] as number
      let state = this.buckets.get(key)
      if (state === undefined) {
        if (n > 0) continue // swept: already full
        state = { tokens: cap, at: now, fullAt: now }
        this.buckets.set(key, state)
      }
      let t = state.tokens + (now > state.at ? (now - state.at) * rate : 0)
      if (t > cap) t = cap
      t += n
      if (t > cap) t = cap
      state.tokens = t
      state.at = now
      state.fullAt = rate > 0 ? now + (cap - t) / rate : now + NEVER_MS
    }
  }

  /** Bucket `i` for this key value lowered to `level` if it holds more (never raised). */
  lower (plan: Plan, i: number, keyValue: string, level: number, now: number): void {
    const level0 = this.level(plan, i, keyValue, now)
    if (level >= level0) return
    const cap = plan.capacity[i] as number
    const rate = plan.refillPerMs[i] as number
    this.buckets.set((plan.prefixes[i] as string) + keyValue, { tokens: level, at: now, fullAt: rate > 0 ? now + (cap - level) / rate : now + NEVER_MS })
  }

  /** Each bucket's level for these key values (capacity when untouched), refilled to `now`. */
  level (plan: Plan, i: number, keyValue: string, now: number): number {
    const cap = plan.capacity[i] as number
    const state = this.buckets.get((plan.prefixes[i] as string) + keyValue)
    if (state === undefined) return cap
    const t = state.tokens + (now > state.at ? (now - state.at) * (plan.refillPerMs[i] as number) : 0)
    return t > cap ? cap : t
  }

  /** `n` tokens back to each of the plan's buckets (never above capacity). */
  giveBack (plan: Plan, keyValues: readonly string[], n: number, now: number): void {
    for (let i = 0; i < plan.size; i++) {
      const state = this.buckets.get((plan.prefixes[i] as string) + (keyValues[i] ?? '-'))
      if (state === undefined) continue // swept: already full
      const cap = plan.capacity[i] as number
      const rate = plan.refillPerMs[i] as number
      let t = state.tokens + (now > state.at ? (now - state.at) * rate : 0) + n
      if (t > cap) t = cap
      state.tokens = t
      state.at = now
      state.fullAt = rate > 0 ? now + (cap - t) / rate : now + NEVER_MS
    }
  }

  /** Hold off the vendor until `untilMs`; a shorter pause never cuts a longer one. */
  pause (vendor: string, untilMs: number): void {
    const current = this.pausedUntil.get(vendor)
    if (current === undefined || current < untilMs) this.pausedUntil.set(vendor, untilMs)
  }

  /** When the vendor's pause ends (epoch ms; 0 or past: not paused). */
  pauseEnd (vendor: string): number {
    return this.pausedUntil.get(vendor) ?? 0
  }

  /** Each vendor paused after `now`, with when its pause ends. */
  pausesAfter (now: number): Array<[vendor: string, untilMs: number]> {
    return [...this.pausedUntil].filter(([, until]) => until > now)
  }

  /** Buckets held in memory (for tests of the sweep). */
  get size (): number {
    return this.buckets.size
  }

  /** The keys held for bucket prefix `prefix`, with their raw tokens (for the admin view). */
  * entries (prefix: string): Generator<[keyValue: string, tokens: number, at: number]> {
    for (const [key, state] of this.buckets) {
      if (key.startsWith(prefix)) yield [key.slice(prefix.length), state.tokens, state.at]
    }
  }

  private sweep (now: number): void {
    this.nextSweep = now + SWEEP_EVERY_MS
    for (const [key, state] of this.buckets) {
      if (state.fullAt <= now) this.buckets.delete(key)
    }
    for (const [vendor, until] of this.pausedUntil) {
      if (until <= now) this.pausedUntil.delete(vendor)
    }
  }
}

/** Whole tokens a bucket holds, never below 0 (for the RateLimit header). */
export function whole (tokens: number): number {
  return tokens > 0 ? Math.floor(tokens + EPSILON) : 0
}
