// A 3-node Redis Cluster (SLUICE_REDIS_CLUSTER): every key of one decision is
// in the vendor's hash slot, so the script runs, whichever node holds it.
import { Cluster } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Metrics } from '../../src/observability/metrics.js'
import { bucketKeyValues } from '../../src/ratelimit/index.js'
import { compilePlan } from '../../src/ratelimit/plan.js'
import { RedisStore } from '../../src/ratelimit/redis-store.js'
import { startRedisCluster, type RedisClusterHandle } from '../helpers/redis.js'
import { NO_DEADLINE, testLimiter, type PolicyLimiter } from './harness.js'
import { policy } from './policy.js'
import { eventually } from '../helpers/wait.js'

let cluster: RedisClusterHandle
let a: PolicyLimiter
let b: PolicyLimiter
let inspect: Cluster

beforeAll(async () => {
  cluster = await startRedisCluster(3)
  a = testLimiter({ clusterNodes: cluster.nodes }).limiter
  b = testLimiter({ clusterNodes: cluster.nodes.slice(1) }).limiter
  inspect = new Cluster(cluster.nodes.map(n => ({ host: '127.0.0.1', port: Number(n.split(':')[1]) })))
  await eventually(() => a.redisUp && b.redisUp, { timeout: 10_000, what: 'cluster up' })
}, 60_000)

afterAll(async () => {
  await a?.close()
  await b?.close()
  inspect?.disconnect()
  await cluster?.stop()
})

describe('a Redis Cluster', () => {
  it('shares exact limits between two replicas, for vendors spread over the nodes', async () => {
    const vendors = Array.from({ length: 6 }, () => policy({
      buckets: [
        { name: 'burst', capacity: 5, perSecond: 0.001 },
        { name: 'tenant', capacity: 3, perSecond: 0.001, key: { kind: 'header', name: 'x-tenant' } },
      ],
    }))
    const nodes = new Set<string>()
    for (const p of vendors) {
      const values = bucketKeyValues(p, () => 'tenant-a', '10.0.0.1')
      const got = await Promise.all(Array.from({ length: 8 }, (_, i) => (i % 2 === 0 ? a : b).acquire(p, values, NO_DEADLINE)))
      expect(got.filter(d => d.ok)).toHaveLength(3)
      expect(got.find(d => !d.ok)?.bucket).toBe('tenant')
      // All-or-none: the burst bucket gave only the three the tenant bucket allowed.
      expect(Number(await inspect.hget(`sluice:{${p.vendor}}:b:burst:all`, 't'))).toBeCloseTo(2, 3)
      nodes.add(String(inspect.slots[clusterSlot(p.vendor)]?.[0]))
    }
    expect(nodes.size).toBeGreaterThan(1)
  })

  it('spreads a pause learnt by one replica to the other', async () => {
    const p = policy({ buckets: [{ capacity: 10, perSecond: 10 }] })
    a.pause(p.vendor, Date.now() + 1000)
    await eventually(async () => (await inspect.exists(`sluice:{${p.vendor}}:pause`)) === 1, { timeout: 2000, what: 'pause key' })
    const refused = await b.acquire(p, ['all'], NO_DEADLINE)
    expect(refused).toMatchObject({ ok: false, code: 'rate_limited' })
    expect(refused.retryAfterMs).toBeGreaterThan(500)
  })

  it('leases tokens and gives them back in the vendor slot, for vendors spread over the nodes', async () => {
    const store = new RedisStore({ clusterNodes: cluster.nodes }, { up: () => {}, down: () => {} })
    try {
      await eventually(() => store.up, { timeout: 10_000, what: 'store up' })
      const metrics = new Metrics({ processMetrics: false })
      const nodes = new Set<string>()
      for (let i = 0; i < 6; i++) {
        const p = policy({ buckets: [{ capacity: 1000, perSecond: 0.001 }] })
        const plan = compilePlan(p, metrics)
        const key = `sluice:{${p.vendor}}:b:burst:all`
        expect((await store.decide(plan, ['all'], NO_DEADLINE, 30)).taken).toBe(30)
        expect(Number(await inspect.hget(key, 't'))).toBeCloseTo(970, 3)
        await store.giveBack(plan, ['all'], 29)
        expect(Number(await inspect.hget(key, 't'))).toBeCloseTo(999, 3)
        nodes.add(String(inspect.slots[clusterSlot(p.vendor)]?.[0]))
      }
      expect(nodes.size).toBeGreaterThan(1)
    } finally {
      await store.close()
    }
  })

  it('queues in order through the cluster', async () => {
    const p = policy({ buckets: [{ capacity: 1, perSecond: 50, onLimit: 'queue', maxWaitMs: 2000 }] })
    const order: number[] = []
    await Promise.all(Array.from({ length: 6 }, async (_, i) => {
      const d = await a.acquire(p, ['all'], NO_DEADLINE)
      expect(d.ok).toBe(true)
      order.push(i)
    }))
    expect(order).toEqual([0, 1, 2, 3, 4, 5])
  })
})

/** The hash slot of the vendor's tag, as the cluster computes it (CRC16 mod 16384). */
function clusterSlot (tag: string): number {
  let crc = 0
  for (const byte of Buffer.from(tag)) {
    crc ^= byte << 8
    for (let i = 0; i < 8; i++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff
  }
  return crc % 16384
}
