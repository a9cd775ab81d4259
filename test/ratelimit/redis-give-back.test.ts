// Tokens of a call that is never sent go back to the shared bucket in Redis at
// once: a call allowed then given back, and a queued call that leaves (its
// decision resolves at once, `cancelled`).
import { Redis } from 'ioredis'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { bucketKeyPrefix } from '../../src/ratelimit/keys.js'
import { startRedis, type RedisHandle } from '../helpers/redis.js'
import { ALL, NO_DEADLINE, redisReplicas, type PolicyLimiter } from './harness.js'
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

async function tokens (vendor: string): Promise<number> {
  return Number(await inspect.hget(`${bucketKeyPrefix(vendor, 'burst')}all`, 't'))
}

describe('tokens given back in Redis', () => {
  it('return a call allowed at once to the shared bucket, for every replica', async () => {
    const [a, b] = await redisReplicas(redis.url, 2, open) as [PolicyLimiter, PolicyLimiter]
    const p = policy({ buckets: [{ capacity: 2, perSecond: 0.001, onLimit: 'reject' }] })
    const taken = await a.acquire(p, ALL, NO_DEADLINE)
    expect(taken).toMatchObject({ ok: true, store: 'redis' })
    await a.acquire(p, ALL, NO_DEADLINE)
    a.giveBack(p, ALL, taken)
    await eventually(async () => await tokens(p.vendor) >= 1, { timeout: 5000, what: 'the token back in Redis' })
    expect((await b.acquire(p, ALL, NO_DEADLINE)).ok).toBe(true)
    expect((await b.acquire(p, ALL, NO_DEADLINE)).ok).toBe(false)
  })

  it('end the wait of a queued call that leaves, and return its reserved token', async () => {
    const [a] = await redisReplicas(redis.url, 1, open) as [PolicyLimiter]
    // One token a minute: the queued call's turn is far away.
    const p = policy({ buckets: [{ capacity: 1, perSecond: 1 / 60, onLimit: 'queue', maxWaitMs: 90_000 }] })
    await a.acquire(p, ALL, NO_DEADLINE)
    const waiter = { cancelWait: undefined as (() => void) | undefined, clientGone: false }
    const queued = a.acquire(p, ALL, NO_DEADLINE, waiter)
    await eventually(() => waiter.cancelWait !== undefined, { timeout: 5000, what: 'the call to queue' })
    expect(await tokens(p.vendor)).toBeLessThan(-0.9)
    waiter.cancelWait?.()
    expect(await queued).toMatchObject({ ok: false, code: 'cancelled' })
    await eventually(async () => await tokens(p.vendor) > -0.1, { timeout: 5000, what: 'the reserved token back in Redis' })
  })
})
