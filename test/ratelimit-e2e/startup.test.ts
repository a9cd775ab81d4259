// Starting next to Redis (SPEC section 8): a sluice decides in Redis from its
// very first call, and one started while Redis is away serves by its failMode
// and joins Redis by itself once it appears.
import { afterAll, beforeAll, expect, it } from 'vitest'
import { startBlackhole } from '../helpers/blackhole.js'
import { startRedis, type RedisHandle } from '../helpers/redis.js'
import { startTestSluice } from '../helpers/sluice.js'
import { startUpstream, type Upstream } from '../helpers/upstream.js'
import { burst, call, countStatus, failModePolicy, metric, readyz, redisReady } from './harness.js'

let redis: RedisHandle
let upstream: Upstream

beforeAll(async () => {
  redis = await startRedis()
  upstream = await startUpstream()
})
afterAll(async () => {
  await upstream.close()
  await redis.stop()
})

function policy (vendor: string, failMode: 'open' | 'closed'): Record<string, string> {
  return { 'v.yaml': failModePolicy(vendor, upstream.url, failMode) }
}

it('failMode closed: serves the first call made as soon as it listens', async () => {
  const s = await startTestSluice(policy('first-call', 'closed'), { env: { SLUICE_REDIS_URL: redis.url } })
  try {
    const r = await call(`${s.url}/first-call/x`)
    expect(r.status).toBe(200)
    expect(await metric(s, 'sluice_redis_up')).toBe(1)
    expect(await readyz(s)).toBe(200)
  } finally {
    await s.stop()
  }
})

it('failMode open: two replicas bursting as soon as they listen share one bucket', async () => {
  const env = { SLUICE_REDIS_URL: redis.url }
  const [a, b] = await Promise.all([startTestSluice(policy('fresh', 'open'), { env }), startTestSluice(policy('fresh', 'open'), { env })])
  try {
    const results = await Promise.all([burst(`${a.url}/fresh/x`, 6), burst(`${b.url}/fresh/x`, 6)])
    expect(countStatus(results.flat(), 200)).toBe(5)
  } finally {
    await Promise.all([a.stop(), b.stop()])
  }
})

it('started while Redis is away: serves by failMode, then uses Redis once it comes up', async () => {
  const gone = await startRedis()
  await gone.stop()
  const started = performance.now()
  const s = await startTestSluice(policy('late-redis', 'open'), { env: { SLUICE_REDIS_URL: gone.url } })
  let late: RedisHandle | undefined
  try {
    // A refused connection settles at once: start is not held for long.
    expect(performance.now() - started).toBeLessThan(2500)
    expect(await metric(s, 'sluice_redis_up')).toBe(0)
    expect(await readyz(s)).toBe(200)
    const local = await call(`${s.url}/late-redis/x`)
    expect(local.status).toBe(200)
    expect(local.ms).toBeLessThan(100)

    late = await startRedis({ port: gone.port })
    await redisReady(s)
    // The Redis bucket is new and full: 5 more, whatever the local one spent.
    expect(countStatus(await burst(`${s.url}/late-redis/x`, 7), 200)).toBe(5)
  } finally {
    await s.stop()
    await late?.stop()
  }
})

it('started against a Redis that never answers: listens within a couple of seconds and serves locally', async () => {
  const hole = await startBlackhole()
  const started = performance.now()
  const s = await startTestSluice(policy('silent-redis', 'open'), { env: { SLUICE_REDIS_URL: `redis://127.0.0.1:${hole.port}` } })
  try {
    expect(performance.now() - started).toBeLessThan(3000)
    const r = await call(`${s.url}/silent-redis/x`)
    expect(r.status).toBe(200)
    expect(r.ms).toBeLessThan(100)
    expect(await metric(s, 'sluice_redis_up')).toBe(0)
  } finally {
    await s.stop()
    hole.close()
  }
})
