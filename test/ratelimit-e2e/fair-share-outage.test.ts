// Fair share when Redis is down: three replicas announce themselves in a real
// Redis (sluice_replicas_seen 3); once the server is killed, each serves from
// local buckets holding a third of the capacity, so together they admit about
// the vendor's limit (within 10 %), not three times it. The refill is so slow
// that the count is exact.
import { afterAll, beforeAll, expect, it } from 'vitest'
import { startRedis, type RedisHandle } from '../helpers/redis.js'
import type { TestSluice } from '../helpers/sluice.js'
import { startUpstream, type Upstream } from '../helpers/upstream.js'
import { call, metric, rateLimitedPolicy, startRedisSluice } from './harness.js'
import { eventually } from '../helpers/wait.js'

const CAPACITY = 30
// Announced every 100 ms, for 2 s: a test need not wait the 5 s of production.
const ANNOUNCE = { everyMs: 100, ttlMs: 2000 }

let redis: RedisHandle
let upstream: Upstream
const sluices: TestSluice[] = []

beforeAll(async () => {
  redis = await startRedis()
  upstream = await startUpstream()
  const policy = rateLimitedPolicy('fair', upstream.url, `
failMode: open
buckets:
  - name: daily
    capacity: ${CAPACITY}
    refill: ${CAPACITY}/day
    onLimit: reject
`)
  for (let i = 0; i < 3; i++) sluices.push(await startRedisSluice({ 'fair.yaml': policy }, redis, { logLevel: 'warn', announce: ANNOUNCE }))
})
afterAll(async () => {
  await Promise.all(sluices.map(s => s.stop()))
  await upstream?.close()
  await redis?.stop()
})

it('three replicas share the limit while Redis is down instead of tripling it', async () => {
  for (const s of sluices) await eventually(async () => await metric(s, 'sluice_replicas_seen') === 3, { timeout: 10_000, what: 'three replicas seen' })
  await redis.stop()
  let admitted = 0
  for (const s of sluices) {
    // Each replica, on its own local bucket, until it refuses.
    for (let i = 0; i < CAPACITY * 2; i++) {
      const r = await call(`${s.url}/fair/x`)
      if (r.status === 429) break
      expect(r.status).toBe(200)
      admitted++
    }
    expect(await metric(s, 'sluice_redis_up')).toBe(0)
    expect(await metric(s, 'sluice_replicas_seen')).toBe(3)
  }
  expect(admitted).toBeGreaterThanOrEqual(CAPACITY * 0.9)
  expect(admitted).toBeLessThanOrEqual(CAPACITY * 1.1)
})
