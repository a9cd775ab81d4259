// Token leases: for a high-rate bucket, one Redis decision takes a small batch
// of tokens from the shared buckets, and this replica hands the rest out to
// its next calls itself, with no Redis call. The global limit still holds:
// every leased token was taken from the shared bucket first, and what is not
// used within LEASE_TTL_MS goes back to it (one script call per lease).
//
// - Size: about the calls this replica made for the key in LEASE_SPAN_MS, at
//   its own recent rate, capped by plan.leaseCap (a small share of capacity
//   and of refill). Below 2 there is no lease: one Redis decision per call,
//   exactly as before, which keeps tight buckets exact.
// - Renewed early: once a lease is down to a quarter, the next call asks Redis
//   for the next one while the tokens left serve the calls meanwhile, so a
//   busy key does not send a burst of single decisions each time it runs out.
// - Only calls the buckets serve at once are leased (redis-script.ts); a
//   call that queues or is refused takes one token or none.
// - A pause learnt here drops this replica's leases for the vendor at once. A
//   pause learnt by another replica reaches Redis only: a lease taken before
//   it keeps serving until it expires, so it is honoured here within
//   LEASE_TTL_MS at most.
// - Redis down: leases are forgotten (their tokens are lost, never reused
//   outside the shared bucket).
import type { Plan } from './plan.js'

/** A lease unused for this long goes back to the shared buckets. */
export const LEASE_TTL_MS = 100
/** A lease covers about the calls this replica makes in this long, at its recent rate. */
export const LEASE_SPAN_MS = 40
/** The rate is measured over at least this long before it sizes a lease. */
export const RATE_WINDOW_MS = 20
/** Keys tracked at most; past this, a new key gets no lease (one Redis decision per call). */
export const MAX_LEASED_KEYS = 10_000
/** A key with no tokens left and no rate measured for this long is forgotten. */
export const FORGET_AFTER_MS = 2000
/** A lease down to this share of what it was granted asks for the next one. */
export const RENEW_AT_SHARE = 0.25
/** How often expired leases are given back and idle keys forgotten. */
export const SWEEP_EVERY_MS = LEASE_TTL_MS / 2

/** Sends unused tokens back to every bucket of the plan, for these key values. */
export type GiveBack = (plan: Plan, keyValues: readonly string[], tokens: number) => void

interface Lease {
  plan: Plan
  keyValues: readonly string[]
  /** tokens this replica may still hand out */
  tokens: number
  /** local epoch ms; past it, the tokens left go back */
  expiresAt: number
  /** at or below this many tokens, the next call asks Redis for the next lease */
  renewAt: number
  /** calls seen after `since`, up to and including the latest */
  calls: number
  since: number
  ratePerMs: number
  /** when a decision asking for a lease was sent; 0: none in flight */
  askedAt: number
}

/**
 * The lease key of one decision: its buckets' Redis keys, so a policy reload
 * that keeps the buckets keeps the leases.
 */
export function leaseKey (plan: Plan, keyValues: readonly string[]): string {
  if (plan.size === 1) return (plan.prefixes[0] as string) + (keyValues[0] ?? '-')
  let key = ''
  for (let i = 0; i < plan.size; i++) key += (plan.prefixes[i] as string) + (keyValues[i] ?? '-') + '\n'
  return key
}

/** A decision asking for a lease is in flight (one that never came back stops counting after the TTL). */
function asking (lease: Lease, now: number): boolean {
  return lease.askedAt > 0 && now - lease.askedAt < LEASE_TTL_MS
}

export class LeaseBook {
  private readonly leases = new Map<string, Lease>()
  private readonly pausedUntil = new Map<string, number>()
  private sweeper: NodeJS.Timeout | undefined

  constructor (private readonly giveBack: GiveBack) {}

  /** One token from a live lease for this key: true, the call goes without asking Redis. */
  take (key: string, now: number): boolean {
    const lease = this.leases.get(key)
    if (lease === undefined) return false
    lease.calls++
    if (lease.tokens <= 0 || now >= lease.expiresAt) return false
    if (lease.tokens <= lease.renewAt && !asking(lease, now)) return false
    lease.tokens--
    return true
  }

  /**
   * A token taken from the live lease for this key by a call that was not
   * sent after all: back to the lease, for the next call. False when the
   * lease is gone, expired or paused since (the token then goes back to Redis).
   */
  putBack (key: string, now: number): boolean {
    const lease = this.leases.get(key)
    if (lease === undefined || now >= lease.expiresAt) return false
    const paused = this.pausedUntil.get(lease.plan.vendor)
    if (paused !== undefined && paused > now) return false
    lease.tokens++
    return true
  }

  /**
   * How many tokens the Redis decision for this call should ask for: 1 (no
   * lease) up to plan.leaseCap. More than 1 means the caller must report the
   * answer with granted().
   */
  want (plan: Plan, key: string, keyValues: readonly string[], now: number): number {
    if (plan.leaseCap < 2) return 1
    let lease = this.leases.get(key)
    if (lease === undefined) {
      if (this.leases.size >= MAX_LEASED_KEYS) return 1
      // This call opens the first rate window: calls are counted after it.
      lease = { plan, keyValues, tokens: 0, expiresAt: 0, renewAt: 0, calls: 0, since: now, ratePerMs: 0, askedAt: 0 }
      this.leases.set(key, lease)
      this.startSweeper()
    }
    lease.plan = plan
    lease.keyValues = keyValues
    // One lease asked at a time; the calls meanwhile decide one by one.
    if (asking(lease, now)) return 1
    const elapsed = now - lease.since
    if (elapsed >= RATE_WINDOW_MS) {
      const rate = lease.calls / elapsed
      // A fresh measure after a quiet spell; otherwise smoothed over two windows.
      lease.ratePerMs = lease.ratePerMs === 0 || elapsed > LEASE_TTL_MS ? rate : (lease.ratePerMs + rate) / 2
      lease.calls = 0
      lease.since = now
    }
    const n = Math.min(plan.leaseCap, Math.floor(lease.ratePerMs * LEASE_SPAN_MS))
    if (n < 2) return 1
    lease.askedAt = now
    return n
  }

  /**
   * The answer to a decision that asked for a lease: Redis took `taken`
   * tokens (0 when refused); the call itself uses one, the rest are leased.
   */
  granted (plan: Plan, key: string, keyValues: readonly string[], taken: number, now: number): void {
    const lease = this.leases.get(key)
    if (lease !== undefined) lease.askedAt = 0
    const extra = taken - 1
    if (extra <= 0) return
    const paused = this.pausedUntil.get(plan.vendor)
    // Asked before a pause learnt here, or after the book was cleared: straight back.
    if (lease === undefined || (paused !== undefined && paused > now)) {
      this.giveBack(plan, keyValues, extra)
      return
    }
    lease.tokens += extra
    lease.expiresAt = now + LEASE_TTL_MS
    lease.renewAt = Math.floor(extra * RENEW_AT_SHARE)
  }

  /** The vendor asked for a break: its leases go back now, and none is kept until `untilMs`. */
  pause (vendor: string, untilMs: number): void {
    const current = this.pausedUntil.get(vendor)
    if (current === undefined || current < untilMs) this.pausedUntil.set(vendor, untilMs)
    this.startSweeper()
    for (const lease of this.leases.values()) {
      if (lease.plan.vendor === vendor && lease.tokens > 0) {
        this.giveBack(lease.plan, lease.keyValues, lease.tokens)
        lease.tokens = 0
      }
    }
  }

  /** Redis went away: forget every lease (nothing can be given back). */
  clear (): void {
    this.leases.clear()
    this.stopSweeper()
  }

  /** On shutdown: give back every token still leased, and stop. */
  close (): void {
    for (const lease of this.leases.values()) {
      if (lease.tokens > 0) this.giveBack(lease.plan, lease.keyValues, lease.tokens)
    }
    this.leases.clear()
    this.pausedUntil.clear()
    this.stopSweeper()
  }

  /** Keys tracked (for tests of the bound and the sweep). */
  get size (): number {
    return this.leases.size
  }

  /** Tokens this replica holds for a key (for tests). */
  tokens (key: string): number {
    return this.leases.get(key)?.tokens ?? 0
  }

  private sweep (): void {
    const now = Date.now()
    for (const [key, lease] of this.leases) {
      if (lease.tokens > 0 && now >= lease.expiresAt) {
        this.giveBack(lease.plan, lease.keyValues, lease.tokens)
        lease.tokens = 0
      }
      if (lease.tokens === 0 && now - lease.since >= FORGET_AFTER_MS) this.leases.delete(key)
    }
    for (const [vendor, until] of this.pausedUntil) {
      if (until <= now) this.pausedUntil.delete(vendor)
    }
    if (this.leases.size === 0 && this.pausedUntil.size === 0) this.stopSweeper()
  }

  private startSweeper (): void {
    if (this.sweeper !== undefined) return
    this.sweeper = setInterval(() => this.sweep(), SWEEP_EVERY_MS)
    this.sweeper.unref()
  }

  private stopSweeper (): void {
    if (this.sweeper !== undefined) clearInterval(this.sweeper)
    this.sweeper = undefined
  }
}
