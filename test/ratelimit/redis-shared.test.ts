// Several limiter instances (replicas, each with its own Redis connection)
// sharing one Redis: one global limit, one queue in arrival order, one pause.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { RateDecision } from '../../src/ratelimit/index.js'
import { startRedis, type RedisHandle } from '../helpers/redis.js'
import { ALL, NO_DEADLINE, redisReplicas, type PolicyLimiter } from './harness.js'
import { policy } from './policy.js'
import { sleep } from '../helpers/wait.js'

let redis: RedisHandle
const open: PolicyLimiter[] = []

beforeAll(async () => {
  redis = await startRedis()
})
afterEach(async () => {
  await Promise.all(open.splice(0).map(l => l.close()))
})
afterAll(async () => {
  await redis.stop()
})

describe('replicas sharing one Redis', () => {
  it('keep one global limit: capacity + refill × time, within 5 %', async () => {
    const limiters = await redisReplicas(redis.url, 3, open)
    const p = policy({ buckets: [{ capacity: 20, perSecond: 50 }] })
    let admitted = 0
    const start = Date.now()
    const runFor = 1000
    await Promise.all(limiters.map(async l => {
      while (Date.now() - start < runFor) {
        const batch = await Promise.all([1, 2, 3, 4].map(() => l.acquire(p, ALL, NO_DEADLINE)))
        admitted += batch.filter(d => d.ok).length
        await sleep(2)
      }
    }))
    const elapsed = (Date.now() - start) / 1000
    const expected = 20 + 50 * elapsed
    expect(Math.abs(admitted - expected)).toBeLessThanOrEqual(expected * 0.05)
  })

  it('queue calls from every replica at the refill rate, each replica in arrival order', async () => {
    const limiters = await redisReplicas(redis.url, 3, open)
    const p = policy({ buckets: [{ capacity: 1, perSecond: 50, onLimit: 'queue', maxWaitMs: 5000 }] })
    const start = Date.now()
    const at: number[] = []
    const perReplica: number[][] = limiters.map(() => [])
    await Promise.all(limiters.flatMap((l, r) => Array.from({ length: 10 }, async (_, i) => {
      const d = await l.acquire(p, ALL, NO_DEADLINE)
      expect(d.ok).toBe(true)
      at.push(Date.now() - start)
      perReplica[r]?.push(i)
    })))
    for (const order of perReplica) expect(order).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
    at.sort((a, b) => a - b)
    // One at once, then one per 20 ms: the k-th admission is never early.
    for (let k = 0; k < at.length; k++) expect(at[k]).toBeGreaterThanOrEqual(k * 20 - 2)
    expect(at[at.length - 1]).toBeLessThan(29 * 20 + 150)
  })

  it('refuse at once the queued calls that would wait past maxWait, across replicas', async () => {
    const limiters = await redisReplicas(redis.url, 2, open)
    const p = policy({ buckets: [{ capacity: 1, perSecond: 50, onLimit: 'queue', maxWaitMs: 100 }] })
    const start = Date.now()
    const results: Array<{ d: RateDecision, ms: number }> = []
    await Promise.all(limiters.flatMap(l => Array.from({ length: 8 }, async () => {
      const d = await l.acquire(p, ALL, NO_DEADLINE)
      results.push({ d, ms: Date.now() - start })
    })))
    const admitted = results.filter(r => r.d.ok)
    const refused = results.filter(r => !r.d.ok)
    // 1 at once and 5 queued within 100 ms (give or take the refill during the round trip).
    expect(admitted.length).toBeGreaterThanOrEqual(6)
    expect(admitted.length).toBeLessThanOrEqual(7)
    for (const r of refused) {
      expect(r.ms).toBeLessThan(60)
      expect(r.d.code).toBe('rate_limited')
    }
  })

  it('honour a pause learnt by another replica', async () => {
    const [a, b] = await redisReplicas(redis.url, 2, open) as [PolicyLimiter, PolicyLimiter]
    const reject = policy({ buckets: [{ capacity: 10, perSecond: 10 }] })
    const queue = policy({ vendor: reject.vendor, buckets: [{ name: 'q', capacity: 10, perSecond: 10, onLimit: 'queue', maxWaitMs: 2000 }] })
    a.pause(reject.vendor, Date.now() + 400)
    await sleep(20)
    const refused = await b.acquire(reject, ALL, NO_DEADLINE)
    expect(refused.ok).toBe(false)
    expect(refused.retryAfterMs).toBeGreaterThan(300)
    expect(refused.retryAfterMs).toBeLessThanOrEqual(400)
    const start = Date.now()
    const queued = await b.acquire(queue, ALL, NO_DEADLINE)
    expect(queued.ok).toBe(true)
    expect(Date.now() - start).toBeGreaterThanOrEqual(300)
  })
})
