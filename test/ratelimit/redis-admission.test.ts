// Buckets in a real Redis, one limiter: exact counts, atomic decisions under
// concurrency, key names and TTLs, all-or-none across buckets, NOSCRIPT.
import { Redis } from 'ioredis'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { bucketKeyValues } from '../../src/ratelimit/index.js'
import { startRedis, type RedisHandle } from '../helpers/redis.js'
import { ALL, decisions, NO_DEADLINE, testLimiter, type TestLimiter, type PolicyLimiter } from './harness.js'
import { policy } from './policy.js'
import { eventually } from '../helpers/wait.js'

let redis: RedisHandle
let inspect: Redis
const open: PolicyLimiter[] = []

beforeAll(async () => {
  redis = await startRedis()
  inspect = new Redis(redis.url)
})
afterEach(async () => {
  await Promise.all(open.splice(0).map(l => l.close()))
})
afterAll(async () => {
  inspect.disconnect()
  await redis.stop()
})

async function redisLimiter (): Promise<TestLimiter> {
  const t = testLimiter({ redisUrl: redis.url })
  open.push(t.limiter)
  await eventually(() => t.limiter.redisUp, { timeout: 5000, what: 'redis up' })
  return t
}

describe('buckets in Redis', () => {
  it('admit exactly the capacity, also when the calls arrive together', async () => {
    const { limiter, metrics } = await redisLimiter()
    const seq = policy({ buckets: [{ capacity: 10, perSecond: 0.001 }] })
    const together = policy({ buckets: [{ capacity: 10, perSecond: 0.001 }] })
    let ok = 0
    for (let i = 0; i < 15; i++) if ((await limiter.acquire(seq, ALL, NO_DEADLINE)).ok) ok++
    expect(ok).toBe(10)
    const all = await Promise.all(Array.from({ length: 40 }, () => limiter.acquire(together, ALL, NO_DEADLINE)))
    expect(all.filter(d => d.ok)).toHaveLength(10)
    expect(all.find(d => !d.ok)).toMatchObject({ code: 'rate_limited', bucket: 'burst' })
    expect(await decisions(metrics, together.vendor, 'burst', 'allowed')).toBe(10)
    expect(await decisions(metrics, together.vendor, 'burst', 'rejected')).toBe(30)
  })

  it('refill at their rate, and say when the next token is due', async () => {
    const { limiter } = await redisLimiter()
    const p = policy({ buckets: [{ capacity: 1, perSecond: 2 }] })
    expect((await limiter.acquire(p, ALL, NO_DEADLINE)).ok).toBe(true)
    const refused = await limiter.acquire(p, ALL, NO_DEADLINE)
    expect(refused.ok).toBe(false)
    expect(refused.retryAfterMs).toBeGreaterThan(400)
    expect(refused.retryAfterMs).toBeLessThanOrEqual(500)
    await new Promise(resolve => setTimeout(resolve, refused.retryAfterMs + 5))
    expect((await limiter.acquire(p, ALL, NO_DEADLINE)).ok).toBe(true)
  })

  it('live under sluice: keys in the vendor hash slot, hashed header values, a TTL until full', async () => {
    const { limiter } = await redisLimiter()
    const p = policy({ buckets: [{ name: 'tenant', capacity: 100, perSecond: 10, key: { kind: 'header', name: 'x-api-key' } }] })
    const values = bucketKeyValues(p, () => 'sk_live_secret_value_1234', '10.0.0.1')
    await limiter.acquire(p, values, NO_DEADLINE)
    const keys = await inspect.keys(`sluice:{${p.vendor}}:*`)
    expect(keys).toEqual([`sluice:{${p.vendor}}:b:tenant:${values[0]}`])
    expect(keys[0]).not.toContain('sk_live')
    const ttl = await inspect.pttl(keys[0] as string)
    // One token short of 100 at 10/s: full again in 100 ms, plus a second of slack.
    expect(ttl).toBeGreaterThan(900)
    expect(ttl).toBeLessThanOrEqual(1100)
  })

  it('keep each key value in its own bucket', async () => {
    const { limiter } = await redisLimiter()
    const p = policy({ buckets: [{ capacity: 1, perSecond: 0.001, key: { kind: 'ip' } }] })
    const ip = (a: string): readonly string[] => bucketKeyValues(p, () => undefined, a)
    expect((await limiter.acquire(p, ip('10.0.0.1'), NO_DEADLINE)).ok).toBe(true)
    expect((await limiter.acquire(p, ip('10.0.0.1'), NO_DEADLINE)).ok).toBe(false)
    expect((await limiter.acquire(p, ip('10.0.0.2'), NO_DEADLINE)).ok).toBe(true)
  })

  it('take a token from every bucket or from none', async () => {
    const { limiter } = await redisLimiter()
    const p = policy({
      buckets: [
        { name: 'burst', capacity: 5, perSecond: 0.001 },
        { name: 'daily', capacity: 2, perSecond: 0.001 },
      ],
    })
    const got = []
    for (let i = 0; i < 4; i++) got.push(await limiter.acquire(p, ['all', 'all'], NO_DEADLINE))
    expect(got.map(d => d.ok)).toEqual([true, true, false, false])
    expect(got[3]?.bucket).toBe('daily')
    const burstLeft = Number(await inspect.hget(`sluice:{${p.vendor}}:b:burst:all`, 't'))
    expect(burstLeft).toBeCloseTo(3, 3)
  })

  it('decide for a policy with more buckets than the pipelined commands cover', async () => {
    const { limiter } = await redisLimiter()
    const specs = Array.from({ length: 20 }, (_, i) => ({ name: `b${i}`, capacity: i === 19 ? 2 : 100, perSecond: 0.001 }))
    const p = policy({ buckets: specs })
    const values = specs.map(() => 'all')
    const got = []
    for (let i = 0; i < 3; i++) got.push(await limiter.acquire(p, values, NO_DEADLINE))
    expect(got.map(d => d.ok)).toEqual([true, true, false])
    expect(got[2]?.bucket).toBe('b19')
    expect(Number(await inspect.hget(`sluice:{${p.vendor}}:b:b0:all`, 't'))).toBeCloseTo(98, 3)
  })

  it('survive a script cache flush (NOSCRIPT reloads the script)', async () => {
    const { limiter } = await redisLimiter()
    const p = policy({ buckets: [{ capacity: 3, perSecond: 0.001 }] })
    expect((await limiter.acquire(p, ALL, NO_DEADLINE)).ok).toBe(true)
    await inspect.script('FLUSH')
    expect((await limiter.acquire(p, ALL, NO_DEADLINE)).ok).toBe(true)
    expect((await limiter.acquire(p, ALL, NO_DEADLINE)).ok).toBe(true)
    expect((await limiter.acquire(p, ALL, NO_DEADLINE)).ok).toBe(false)
    expect(limiter.redisUp).toBe(true)
  })

  it('store a vendor pause as a key that expires with it', async () => {
    const { limiter } = await redisLimiter()
    const p = policy({ buckets: [{ capacity: 3, perSecond: 1 }] })
    limiter.pause(p.vendor, Date.now() + 2000)
    const refused = await limiter.acquire(p, ALL, NO_DEADLINE)
    expect(refused).toMatchObject({ ok: false, code: 'rate_limited' })
    expect(refused.retryAfterMs).toBeGreaterThan(1800)
    const ttl = await inspect.pttl(`sluice:{${p.vendor}}:pause`)
    expect(ttl).toBeGreaterThan(1500)
    expect(ttl).toBeLessThanOrEqual(2000)
  })
})
