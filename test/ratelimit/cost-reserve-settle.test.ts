// Costs per call, in memory and in a real Redis through the same cases: an
// estimate is reserved from every bucket at once (all or nothing), settled
// against the actual cost (surplus back at once, extra taken even below zero),
// given back whole when the call is never sent, and refused outright when it
// is over a bucket's capacity.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { startRedis, type RedisHandle } from '../helpers/redis.js'
import { ALL, NO_DEADLINE, redisReplicas, testLimiter, type PolicyLimiter } from './harness.js'
import { policy } from './policy.js'

const STORES = [{ store: 'memory' as const }, { store: 'redis' as const }]

let redis: RedisHandle
const open: PolicyLimiter[] = []

beforeAll(async () => {
  redis = await startRedis()
})
afterEach(async () => {
  await Promise.all(open.splice(0).map(l => l.close()))
})
afterAll(async () => {
  await redis?.stop()
})

// 10,000 tokens refilling so slowly that counts are exact.
const TOKENS = { name: 'tokens', capacity: 10_000, perSecond: 0.01, onLimit: 'reject' as const, cost: { request: 'json:max_tokens', response: 'json:usage.total_tokens' } }

describe.each(STORES)('costs with the buckets in $store', ({ store }) => {
  async function limiter (): Promise<PolicyLimiter> {
    if (store === 'redis') return (await redisReplicas(redis.url, 1, open))[0] as PolicyLimiter
    const { limiter } = testLimiter()
    open.push(limiter)
    return limiter
  }

  it('a 3,000-token estimate against a 10,000-token bucket admits three', async () => {
    const l = await limiter()
    const p = policy({ buckets: [TOKENS] })
    const decisions = []
    for (let i = 0; i < 4; i++) decisions.push(await l.acquire(p, ALL, NO_DEADLINE, undefined, [3000]))
    expect(decisions.map(d => d.ok)).toEqual([true, true, true, false])
    expect(decisions[0]?.costs).toEqual([3000])
    expect(decisions[3]).toMatchObject({ code: 'rate_limited', bucket: 'tokens' })
    expect(decisions[3]?.overCapacity).toBeUndefined()
    expect(decisions[3]?.retryAfterMs).toBeGreaterThan(0)
  })

  it('settling an actual 500 gives 2,500 back at once', async () => {
    const l = await limiter()
    const p = policy({ buckets: [TOKENS] })
    const first = await l.acquire(p, ALL, NO_DEADLINE, undefined, [3000])
    await l.acquire(p, ALL, NO_DEADLINE, undefined, [3000])
    await l.acquire(p, ALL, NO_DEADLINE, undefined, [3000])
    // 1,000 left: a fourth 3,000 is refused until the first settles.
    expect((await l.acquire(p, ALL, NO_DEADLINE, undefined, [3000])).ok).toBe(false)
    l.settleCost(p, ALL, first, [500])
    // 3,500 left: one more 3,000, then 500 left.
    expect((await l.acquire(p, ALL, NO_DEADLINE, undefined, [3000])).ok).toBe(true)
    expect((await l.acquire(p, ALL, NO_DEADLINE, undefined, [501])).ok).toBe(false)
    expect((await l.acquire(p, ALL, NO_DEADLINE, undefined, [500])).ok).toBe(true)
  })

  it('settling more than the estimate takes the extra, below zero: the next calls wait', async () => {
    const l = await limiter()
    // 100 tokens a second: the wait is in seconds, far above any scheduling delay.
    const p = policy({ buckets: [{ ...TOKENS, capacity: 1000, perSecond: 100 }] })
    const first = await l.acquire(p, ALL, NO_DEADLINE, undefined, [100])
    l.settleCost(p, ALL, first, [1500])
    // 1,000 - 1,500 = -500: a call of 100 needs 600 tokens of refill, 6 s.
    const next = await l.acquire(p, ALL, NO_DEADLINE, undefined, [100])
    expect(next.ok).toBe(false)
    expect(next.retryAfterMs).toBeGreaterThan(5000)
    expect(next.retryAfterMs).toBeLessThanOrEqual(6000)
  })

  it('a call never sent gives its whole reservation back', async () => {
    const l = await limiter()
    const p = policy({ buckets: [TOKENS] })
    const first = await l.acquire(p, ALL, NO_DEADLINE, undefined, [6000])
    expect((await l.acquire(p, ALL, NO_DEADLINE, undefined, [6000])).ok).toBe(false)
    l.giveBack(p, ALL, first)
    expect((await l.acquire(p, ALL, NO_DEADLINE, undefined, [10_000])).ok).toBe(true)
  })

  it('an estimate over the capacity is refused as such, with no retry time', async () => {
    const l = await limiter()
    const p = policy({ buckets: [TOKENS] })
    const d = await l.acquire(p, ALL, NO_DEADLINE, undefined, [10_001])
    expect(d).toMatchObject({ ok: false, code: 'rate_limited', bucket: 'tokens', retryAfterMs: 0, overCapacity: { cost: 10_001, capacity: 10_000 } })
    // Nothing was taken.
    expect((await l.acquire(p, ALL, NO_DEADLINE, undefined, [10_000])).ok).toBe(true)
  })

  it('reserves from every bucket or from none', async () => {
    const l = await limiter()
    const p = policy({ buckets: [{ name: 'requests', capacity: 2, perSecond: 0.01 }, TOKENS] })
    expect((await l.acquire(p, ALL, NO_DEADLINE, undefined, [1, 6000])).ok).toBe(true)
    // The tokens bucket refuses: the requests bucket keeps its last token.
    expect(await l.acquire(p, ALL, NO_DEADLINE, undefined, [1, 6000])).toMatchObject({ ok: false, bucket: 'tokens' })
    expect((await l.acquire(p, ALL, NO_DEADLINE, undefined, [1, 100])).ok).toBe(true)
    expect(await l.acquire(p, ALL, NO_DEADLINE, undefined, [1, 100])).toMatchObject({ ok: false, bucket: 'requests' })
  })
})
