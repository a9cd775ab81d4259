// The rate limit metrics on the admin listener's /metrics (SPEC section 7):
// decisions by vendor, bucket and decision, the time calls spent queued, and
// whether Redis answers.
import { afterAll, beforeAll, expect, it } from 'vitest'
import { startRedis, type RedisHandle } from '../helpers/redis.js'
import type { TestSluice } from '../helpers/sluice.js'
import { startUpstream, type Upstream } from '../helpers/upstream.js'
import { burst, metric, metricsText, rateLimitedPolicy, startRedisSluice } from './harness.js'

let redis: RedisHandle
let upstream: Upstream
let s: TestSluice

beforeAll(async () => {
  redis = await startRedis()
  upstream = await startUpstream()
  // One token every 500 ms: of three calls at once, one goes, one waits ~500 ms,
  // one would wait ~1 s (past maxWait). Wide margins: on a loaded machine the
  // three calls may arrive a few hundred ms apart.
  s = await startRedisSluice({
    'm.yaml': rateLimitedPolicy('metered', upstream.url, `
buckets:
  - name: burst
    capacity: 1
    refill: 2/s
    onLimit: queue
    maxWait: 750ms
`),
  }, redis)
})
afterAll(async () => {
  await s.stop()
  await upstream.close()
  await redis.stop()
})

it('counts allowed, queued and rejected decisions and the queue wait, and shows Redis up', async () => {
  const results = await burst(`${s.url}/metered/x`, 3)
  expect(results.map(r => r.status).sort()).toEqual([200, 200, 429])

  const text = await metricsText(s)
  for (const decision of ['allowed', 'queued', 'rejected']) {
    expect(text).toContain(`sluice_ratelimit_decisions_total{vendor="metered",bucket="burst",decision="${decision}"} 1`)
  }
  expect(text).toMatch(/^# TYPE sluice_ratelimit_wait_seconds histogram$/m)
  expect(await metric(s, 'sluice_ratelimit_wait_seconds_count', { vendor: 'metered' })).toBe(1)
  const waited = await metric(s, 'sluice_ratelimit_wait_seconds_sum', { vendor: 'metered' })
  expect(waited).toBeGreaterThan(0)
  expect(waited).toBeLessThanOrEqual(0.75)
  expect(await metric(s, 'sluice_ratelimit_wait_seconds_bucket', { vendor: 'metered', le: '0.001' })).toBe(0)
  expect(await metric(s, 'sluice_ratelimit_wait_seconds_bucket', { vendor: 'metered', le: '1' })).toBe(1)
  expect(text).toMatch(/^sluice_redis_up 1$/m)
  // Decisions are added to the counter as it is read: reading again adds nothing.
  for (const decision of ['allowed', 'queued', 'rejected']) {
    expect(await metric(s, 'sluice_ratelimit_decisions_total', { vendor: 'metered', bucket: 'burst', decision })).toBe(1)
  }
})
