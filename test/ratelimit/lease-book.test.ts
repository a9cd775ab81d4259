// The lease book on its own, with fake timers: leases sized by the replica's
// own rate and capped by the bucket, never for tight buckets, handed out then
// given back on expiry, dropped on a pause, and a bounded number of keys.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { Metrics } from '../../src/observability/metrics.js'
import { FORGET_AFTER_MS, LEASE_TTL_MS, LeaseBook, leaseKey, MAX_LEASED_KEYS, SWEEP_EVERY_MS } from '../../src/ratelimit/lease.js'
import { compilePlan, type Plan } from '../../src/ratelimit/plan.js'
import { ALL } from './harness.js'
import { policy, type BucketSpec } from './policy.js'

interface Given { plan: Plan, keyValues: readonly string[], tokens: number }

let given: Given[]
let book: LeaseBook

beforeEach(() => {
  vi.useFakeTimers({ now: 1_000_000 })
  given = []
  book = new LeaseBook((plan, keyValues, tokens) => given.push({ plan, keyValues, tokens }))
})
afterEach(() => {
  book.close()
  vi.useRealTimers()
})

function planOf (...buckets: BucketSpec[]): Plan {
  return compilePlan(policy({ buckets }), new Metrics({ processMetrics: false }))
}

/** A high-rate bucket: leases of up to min(2 % of 2000, 50 ms of 1000/s) = 40 tokens. */
const wide = (): Plan => planOf({ capacity: 2000, perSecond: 1000 })

/**
 * Calls every `everyMs` for `forMs`, as the limiter makes them: from the lease
 * when it can, else a Redis decision that Redis grants in full. Returns the
 * lease sizes asked for.
 */
function drive (plan: Plan, everyMs: number, forMs: number, keyValues: readonly string[] = ALL): number[] {
  const key = leaseKey(plan, keyValues)
  const asked: number[] = []
  for (let t = 0; t < forMs; t += everyMs) {
    const now = Date.now()
    if (!book.take(key, now)) {
      const want = book.want(plan, key, keyValues, now)
      if (want > 1) {
        asked.push(want)
        book.granted(plan, key, keyValues, want, now)
      }
    }
    vi.advanceTimersByTime(everyMs)
  }
  return asked
}

describe('lease size', () => {
  it('is capped by the bucket: 2 % of capacity, 50 ms of refill', () => {
    expect(wide().leaseCap).toBe(40)
    expect(planOf({ capacity: 1_000_000, perSecond: 200 }).leaseCap).toBe(10)
    expect(planOf({ capacity: 300, perSecond: 1e6 }).leaseCap).toBe(6)
    expect(planOf({ capacity: 1e9, perSecond: 1e9 }).leaseCap).toBe(1000)
    // Every bucket of the decision must afford it.
    expect(planOf({ name: 'a', capacity: 2000, perSecond: 1000 }, { name: 'b', capacity: 100, perSecond: 1000 }).leaseCap).toBe(2)
  })

  it('is never more than one token for a tight bucket (capacity 8, 20/s): one Redis decision per call', () => {
    const tight = planOf({ capacity: 8, perSecond: 20 })
    expect(tight.leaseCap).toBeLessThan(2)
    expect(drive(tight, 1, 200)).toEqual([])
    expect(book.size).toBe(0)
  })

  it('follows the replica\'s own rate: about the calls it makes in 40 ms', () => {
    const plan = planOf({ capacity: 1e9, perSecond: 1e9 })
    const fast = drive(plan, 1, 300) // 1 call per ms
    expect(fast.length).toBeGreaterThan(0)
    for (const n of fast) {
      expect(n).toBeGreaterThanOrEqual(38)
      expect(n).toBeLessThanOrEqual(42)
    }
    const slow = drive(planOf({ capacity: 1e9, perSecond: 1e9 }), 10, 500) // 1 call per 10 ms
    for (const n of slow) expect(n).toBeLessThanOrEqual(5)
  })

  it('is not asked for at all below two calls per lease span', () => {
    expect(drive(wide(), 25, 1000)).toEqual([])
  })

  it('is asked for once at a time: calls meanwhile decide one by one', () => {
    const plan = wide()
    const key = leaseKey(plan, ALL)
    drive(plan, 1, 30)
    while (book.take(key, Date.now())); // down to where the next lease is asked for
    vi.advanceTimersByTime(1)
    expect(book.want(plan, key, ALL, Date.now())).toBeGreaterThan(1)
    expect(book.want(plan, key, ALL, Date.now())).toBe(1)
    while (book.take(key, Date.now())); // the rest, meanwhile
    book.granted(plan, key, ALL, 0, Date.now()) // refused: nothing leased
    expect(book.tokens(key)).toBe(0)
    expect(book.want(plan, key, ALL, Date.now())).toBeGreaterThan(1)
  })
})

describe('leased tokens', () => {
  it('serve calls locally, one each, and the next lease is asked for before they run out', () => {
    const plan = wide()
    const key = leaseKey(plan, ALL)
    book.want(plan, key, ALL, Date.now())
    book.granted(plan, key, ALL, 41, Date.now()) // one for the call, 40 leased
    expect(book.tokens(key)).toBe(40)
    const served = Array.from({ length: 31 }, () => book.take(key, Date.now()))
    // Down to a quarter: the 31st call goes to Redis and asks for the next lease...
    expect(served.filter(Boolean)).toHaveLength(30)
    expect(served[30]).toBe(false)
    vi.advanceTimersByTime(30)
    expect(book.want(plan, key, ALL, Date.now())).toBeGreaterThan(1)
    // ...while the ten tokens left serve the calls meanwhile, then none.
    const meanwhile = Array.from({ length: 11 }, () => book.take(key, Date.now()))
    expect(meanwhile.filter(Boolean)).toHaveLength(10)
    expect(meanwhile[10]).toBe(false)
    book.granted(plan, key, ALL, 41, Date.now())
    expect(book.tokens(key)).toBe(40)
  })

  it('go back to the shared bucket once the lease expires, in one give-back', () => {
    const plan = wide()
    const key = leaseKey(plan, ALL)
    book.want(plan, key, ALL, Date.now())
    book.granted(plan, key, ALL, 30, Date.now())
    for (let i = 0; i < 9; i++) book.take(key, Date.now())
    vi.advanceTimersByTime(LEASE_TTL_MS - 1)
    expect(given).toEqual([])
    expect(book.take(key, Date.now())).toBe(true)
    vi.advanceTimersByTime(1)
    // Expired: not handed out any more, even before the sweep gives it back.
    expect(book.take(key, Date.now())).toBe(false)
    vi.advanceTimersByTime(SWEEP_EVERY_MS)
    expect(given).toEqual([{ plan, keyValues: ALL, tokens: 19 }])
    expect(book.tokens(key)).toBe(0)
    vi.advanceTimersByTime(SWEEP_EVERY_MS * 4)
    expect(given).toHaveLength(1)
  })

  it('are dropped at once when the vendor asks for a pause here, and none is kept during it', () => {
    const plan = wide()
    const other = wide()
    const key = leaseKey(plan, ALL)
    const otherKey = leaseKey(other, ALL)
    book.want(plan, key, ALL, Date.now())
    book.granted(plan, key, ALL, 11, Date.now())
    book.want(other, otherKey, ALL, Date.now())
    book.granted(other, otherKey, ALL, 11, Date.now())
    book.pause(plan.vendor, Date.now() + 500)
    expect(given).toEqual([{ plan, keyValues: ALL, tokens: 10 }])
    expect(book.take(key, Date.now())).toBe(false)
    expect(book.take(otherKey, Date.now())).toBe(true) // another vendor keeps its lease
    // A lease asked before the pause was learnt comes back after it: straight back.
    book.granted(plan, key, ALL, 7, Date.now())
    expect(given.at(-1)).toEqual({ plan, keyValues: ALL, tokens: 6 })
    expect(book.take(key, Date.now())).toBe(false)
    vi.advanceTimersByTime(500)
    book.granted(plan, key, ALL, 7, Date.now())
    expect(book.take(key, Date.now())).toBe(true)
  })

  it('are forgotten, not given back, when Redis goes away', () => {
    const plan = wide()
    const key = leaseKey(plan, ALL)
    book.want(plan, key, ALL, Date.now())
    book.granted(plan, key, ALL, 11, Date.now())
    book.clear()
    expect(book.take(key, Date.now())).toBe(false)
    vi.advanceTimersByTime(LEASE_TTL_MS * 3)
    expect(given).toEqual([])
  })

  it('go back when the limiter closes', () => {
    const plan = wide()
    const key = leaseKey(plan, ALL)
    book.want(plan, key, ALL, Date.now())
    book.granted(plan, key, ALL, 11, Date.now())
    book.close()
    expect(given).toEqual([{ plan, keyValues: ALL, tokens: 10 }])
  })
})

describe('memory of leases', () => {
  it('holds at most MAX_LEASED_KEYS keys; a key past that gets no lease', () => {
    const plan = wide()
    for (let i = 0; i < MAX_LEASED_KEYS + 50; i++) {
      const values = [`k${i}`]
      book.want(plan, leaseKey(plan, values), values, Date.now())
    }
    expect(book.size).toBe(MAX_LEASED_KEYS)
  })

  it('forgets keys that went quiet', () => {
    const plan = wide()
    for (let i = 0; i < 10; i++) drive(plan, 1, 30, [`tenant-${i}`])
    expect(book.size).toBe(10)
    vi.advanceTimersByTime(FORGET_AFTER_MS + SWEEP_EVERY_MS)
    expect(book.size).toBe(0)
    // Every lease left went back before it was forgotten.
    expect(given.length).toBeGreaterThan(0)
  })
})

describe('a leased token not used after all', () => {
  it('goes back to its live lease, for the next call', () => {
    const plan = wide()
    const key = leaseKey(plan, ALL)
    book.want(plan, key, ALL, Date.now())
    book.granted(plan, key, ALL, 11, Date.now())
    expect(book.take(key, Date.now())).toBe(true)
    expect(book.tokens(key)).toBe(9)
    expect(book.putBack(key, Date.now())).toBe(true)
    expect(book.tokens(key)).toBe(10)
    expect(given).toEqual([])
  })

  it('is refused by an expired lease or one paused since, so the caller sends it to Redis', () => {
    const plan = wide()
    const key = leaseKey(plan, ALL)
    expect(book.putBack(key, Date.now())).toBe(false)
    book.want(plan, key, ALL, Date.now())
    book.granted(plan, key, ALL, 11, Date.now())
    book.pause(plan.vendor, Date.now() + 1000)
    expect(book.putBack(key, Date.now())).toBe(false)
    vi.advanceTimersByTime(1000 + LEASE_TTL_MS)
    expect(book.putBack(key, Date.now())).toBe(false)
  })
})
