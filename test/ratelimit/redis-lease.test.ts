// Leases in a real Redis. The script: a call every bucket serves at once takes
// up to the lease asked for, never more whole tokens than the emptiest bucket
// holds; a call that queues or is refused takes one token or none; unused
// tokens go back, never above capacity. Replicas: at a high rate most calls
// never reach Redis and together they still admit no more than the bucket
// allows; a pause learnt by another replica is honoured within LEASE_TTL_MS.
import { Redis } from 'ioredis'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { Metrics } from '../../src/observability/metrics.js'
import { LEASE_TTL_MS } from '../../src/ratelimit/lease.js'
import { compilePlan, type Plan } from '../../src/ratelimit/plan.js'
import { RedisStore } from '../../src/ratelimit/redis-store.js'
import { startRedis, type RedisHandle } from '../helpers/redis.js'
import { ALL, NO_DEADLINE, redisReplicas, type PolicyLimiter } from './harness.js'
import { policy, type BucketSpec } from './policy.js'
import { eventually, sleep } from '../helpers/wait.js'

let redis: RedisHandle
let inspect: Redis
const stores: RedisStore[] = []
const open: PolicyLimiter[] = []

beforeAll(async () => {
  redis = await startRedis()
  inspect = new Redis(redis.url)
})
afterEach(async () => {
  await Promise.all(stores.splice(0).map(s => s.close()))
  await Promise.all(open.splice(0).map(l => l.close()))
})
afterAll(async () => {
  inspect.disconnect()
  await redis.stop()
})

async function store (): Promise<RedisStore> {
  const s = new RedisStore({ url: redis.url }, { up: () => {}, down: () => {} })
  stores.push(s)
  await eventually(() => s.up, { timeout: 5000, what: 'redis up' })
  return s
}

function planOf (...buckets: BucketSpec[]): Plan {
  return compilePlan(policy({ buckets }), new Metrics({ processMetrics: false }))
}

async function tokens (plan: Plan, i = 0): Promise<number> {
  return Number(await inspect.hget(`${plan.prefixes[i] as string}all`, 't'))
}

async function scriptCalls (): Promise<number> {
  const info = await inspect.info('commandstats')
  let n = 0
  for (const name of ['evalsha', 'eval']) {
    const m = new RegExp(`^cmdstat_${name}:calls=(\\d+)`, 'm').exec(info)
    if (m !== null) n += Number(m[1])
  }
  return n
}

const SLOW = 0.001 // tokens per second: no refill within a test

describe('the decision script with a lease', () => {
  it('takes the lease from every bucket of a call served at once', async () => {
    const s = await store()
    const plan = planOf({ name: 'a', capacity: 1000, perSecond: SLOW }, { name: 'b', capacity: 500, perSecond: SLOW })
    const v = await s.decide(plan, ['all', 'all'], NO_DEADLINE, 30)
    expect(v).toMatchObject({ refused: false, waitMs: 0, taken: 30 })
    expect(await tokens(plan, 0)).toBeCloseTo(970, 3)
    expect(await tokens(plan, 1)).toBeCloseTo(470, 3)
  })

  it('takes no more whole tokens than the emptiest bucket holds', async () => {
    const s = await store()
    const plan = planOf({ name: 'a', capacity: 1000, perSecond: SLOW }, { name: 'b', capacity: 7, perSecond: SLOW })
    expect((await s.decide(plan, ['all', 'all'], NO_DEADLINE, 30)).taken).toBe(7)
    expect(await tokens(plan, 0)).toBeCloseTo(993, 3)
    expect(await s.decide(plan, ['all', 'all'], NO_DEADLINE, 30)).toMatchObject({ refused: true, taken: 0 })
  })

  it('takes one token for a call that must queue, none for a refused one', async () => {
    const s = await store()
    // a token every 500 ms: a slow moment between the calls cannot refill one (at 50/s, 20 ms did)
    const plan = planOf({ capacity: 2, perSecond: 2, onLimit: 'queue', maxWaitMs: 1000 })
    expect((await s.decide(plan, ALL, NO_DEADLINE, 10)).taken).toBe(2)
    const queued = await s.decide(plan, ALL, NO_DEADLINE, 10)
    expect(queued.waitMs).toBeGreaterThan(0)
    expect(queued.taken).toBe(1)
    const refused = await s.decide(plan, ALL, 5, 10) // cannot wait that long
    expect(refused).toMatchObject({ refused: true, taken: 0 })
  })

  it('leases nothing while the vendor is paused', async () => {
    const s = await store()
    const plan = planOf({ capacity: 1000, perSecond: SLOW, onLimit: 'queue', maxWaitMs: 5000 })
    await s.pause(plan.pauseKey, 300)
    const v = await s.decide(plan, ALL, NO_DEADLINE, 30)
    expect(v.waitMs).toBeGreaterThan(200)
    expect(v.taken).toBe(1)
  })

  it('gives unused tokens back, never above capacity', async () => {
    const s = await store()
    const plan = planOf({ capacity: 100, perSecond: SLOW })
    await s.decide(plan, ALL, NO_DEADLINE, 40)
    expect(await tokens(plan)).toBeCloseTo(60, 3)
    await s.giveBack(plan, ALL, 25)
    expect(await tokens(plan)).toBeCloseTo(85, 3)
    await s.giveBack(plan, ALL, 25)
    expect(await tokens(plan)).toBeCloseTo(100, 3)
    expect(await inspect.pttl(`${plan.prefixes[0] as string}all`)).toBeGreaterThan(0)
  })
})

const tick = async (): Promise<void> => await new Promise(resolve => setImmediate(resolve))

/** Each replica asks `concurrency` tokens at a time, again and again, until `ms` have passed. */
async function hammer (limiters: PolicyLimiter[], p: ReturnType<typeof policy>, ms: number, concurrency: number): Promise<{ admitted: number, refused: number, calls: number }> {
  let admitted = 0
  let refused = 0
  const stopAt = performance.now() + ms
  await Promise.all(limiters.map(async l => {
    while (performance.now() < stopAt) {
      const batch = await Promise.all(Array.from({ length: concurrency }, () => l.acquire(p, ALL, NO_DEADLINE)))
      for (const d of batch) d.ok ? admitted++ : refused++
      await tick()
    }
  }))
  return { admitted, refused, calls: admitted + refused }
}

describe('replicas leasing from one Redis', () => {
  it('serve most calls without Redis while under the limit', async () => {
    const limiters = await redisReplicas(redis.url, 3, open)
    const p = policy({ buckets: [{ capacity: 1_000_000, perSecond: 1_000_000 }] })
    const before = await scriptCalls()
    const { admitted, refused, calls } = await hammer(limiters, p, 500, 8)
    const perCall = (await scriptCalls() - before) / calls
    expect(refused).toBe(0)
    expect(admitted).toBeGreaterThan(3000)
    expect(perCall, `${calls} calls`).toBeLessThan(0.2)
  })

  it('together never admit more than capacity + refill × elapsed', async () => {
    const limiters = await redisReplicas(redis.url, 3, open)
    const capacity = 2000
    const perSecond = 1000
    const p = policy({ buckets: [{ capacity, perSecond }] })
    const start = performance.now()
    const { admitted, refused } = await hammer(limiters, p, 1000, 8)
    const elapsedS = (performance.now() - start) / 1000
    const bound = capacity + perSecond * elapsedS
    expect(refused).toBeGreaterThan(0) // the limit was really pressed
    expect(admitted, `bound ${bound.toFixed(1)}`).toBeLessThanOrEqual(bound)
    // Leases held back by replicas cost little of what the bucket gives.
    expect(admitted).toBeGreaterThan(bound * 0.9)
  })

  it('honour a pause learnt by another replica within the lease TTL', async () => {
    const [a, b] = await redisReplicas(redis.url, 2, open) as [PolicyLimiter, PolicyLimiter]
    const p = policy({ buckets: [{ capacity: 1_000_000, perSecond: 1_000_000 }] })
    await hammer([b], p, 100, 8) // b now holds a lease
    a.pause(p.vendor, Date.now() + 2000)
    await sleep(LEASE_TTL_MS + 20)
    const after = await Promise.all(Array.from({ length: 5 }, () => b.acquire(p, ALL, NO_DEADLINE)))
    for (const d of after) expect(d).toMatchObject({ ok: false, code: 'rate_limited' })
  })

  it('drop their own leases at once on a pause learnt here', async () => {
    const [a] = await redisReplicas(redis.url, 1, open) as [PolicyLimiter]
    const p = policy({ buckets: [{ capacity: 1_000_000, perSecond: 1_000_000 }] })
    await hammer([a], p, 100, 8)
    a.pause(p.vendor, Date.now() + 2000)
    expect(await a.acquire(p, ALL, NO_DEADLINE)).toMatchObject({ ok: false, code: 'rate_limited' })
  })
})
