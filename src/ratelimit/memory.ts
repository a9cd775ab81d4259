// Token buckets in this process: the store when no Redis is configured, and
// the fallback of `failMode: open` while Redis is down. Decisions follow the
// rule in verdict.ts. No timer per bucket: a bucket is refilled when read, and
// full buckets (which are the same as absent ones) are swept now and then.
import type { Plan } from './plan.js'
import type { BucketLevel } from './types.js'
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

  decide (plan: Plan, keyValues: readonly string[], budgetMs: number, now: number): Verdict {
    if (now >= this.nextSweep) this.sweep(now)
    const until = this.pausedUntil.get(plan.vendor)
    const pause = until !== undefined && until > now ? until - now : 0
    const { size, capacity, refillPerMs, maxWaitMs } = plan
    const { keys, tokens, needs } = this

    let wait = 0
    let longest = 0
    for (let i = 0; i < size; i++) {
      const cap = capacity[i] as number
      const rate = refillPerMs[i] as number
      const key = (plan.prefixes[i] as string) + (keyValues[i] ?? '-')
      const state = this.buckets.get(key)
      let t = cap
      if (state !== undefined) {
        t = state.tokens + (now > state.at ? (now - state.at) * rate : 0)
        if (t > cap) t = cap
      }
      let need = 0
      if (t < 1 - EPSILON) need = rate > 0 ? (1 - t) / rate : NEVER_MS
      if (need < pause) need = pause
      keys[i] = key
      tokens[i] = t
      needs[i] = need
      if (need > wait) { wait = need; longest = i }
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
      return { refused: true, waitMs: 0, retryAfterMs: Math.ceil(wait), bucket: refusedBy, queuedMask: 0 }
    }

    let queuedMask = 0
    for (let i = 0; i < size; i++) {
      const key = keys[i] as string
      const t = (tokens[i] as number) - 1
      const rate = refillPerMs[i] as number
      const fullAt = rate > 0 ? now + ((capacity[i] as number) - t) / rate : now + NEVER_MS
      const state = this.buckets.get(key)
      if (state === undefined) {
        this.buckets.set(key, { tokens: t, at: now, fullAt })
      } else {
        state.tokens = t
        state.at = now
        state.fullAt = fullAt
      }
      if ((needs[i] as number) > 0) queuedMask += 2 ** i
    }
    return { refused: false, waitMs: Math.ceil(wait), retryAfterMs: 0, bucket: wait > 0 ? longest : -1, queuedMask }
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

  /** Each bucket's level now (the lowest of its keys; an absent key is full). Walks every bucket held: for the admin page, not the hot path. */
  levels (plan: Plan, now: number): BucketLevel[] {
    const out: BucketLevel[] = []
    for (let i = 0; i < plan.size; i++) {
      const prefix = plan.prefixes[i] as string
      const cap = plan.capacity[i] as number
      const rate = plan.refillPerMs[i] as number
      let lowest = cap
      let keys = 0
      for (const [key, state] of this.buckets) {
        if (!key.startsWith(prefix)) continue
        keys++
        const t = Math.min(cap, state.tokens + (now > state.at ? (now - state.at) * rate : 0))
        if (t < lowest) lowest = t
      }
      out.push({ bucket: plan.names[i] as string, capacity: cap, tokens: lowest, keys })
    }
    return out
  }

  /** Buckets held in memory (for tests of the sweep). */
  get size (): number {
    return this.buckets.size
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
