// A retry takes a token like any call (the vendor counts every attempt), so
// retries cannot push a vendor past its limit.
import { afterAll, beforeAll, expect, it } from 'vitest'
import { startRedis, type RedisHandle } from '../helpers/redis.js'
import type { TestSluice } from '../helpers/sluice.js'
import { startUpstream, type Upstream } from '../helpers/upstream.js'
import { call, rateLimitedPolicy, startRedisSluice } from './harness.js'

let redis: RedisHandle
/** always 503, without Retry-After (so no pause is learnt) */
let failing: Upstream
let s: TestSluice

beforeAll(async () => {
  redis = await startRedis()
  failing = await startUpstream((_req, res) => { res.statusCode = 503; res.end('down') })
  s = await startRedisSluice({
    'r.yaml': rateLimitedPolicy('retrying', failing.url, `
buckets:
  - name: burst
    capacity: 4
    refill: 1/min
    onLimit: reject
`, { retry: 'attempts: 3\non: [503]\nbackoff: { initial: 1ms, max: 1ms }\nbudget: 100%' }),
  }, redis)
})
afterAll(async () => {
  await s.stop()
  await failing.close()
  await redis.stop()
})

it('takes a token for every attempt, and stops retrying when the bucket is empty', async () => {
  // Three attempts, three tokens: the vendor's last 503 is relayed.
  const first = await call(`${s.url}/retrying/x`)
  expect(first.status).toBe(503)
  expect(first.headers['x-sluice-error']).toBeUndefined()
  expect(failing.seen.length).toBe(3)

  // One token left: the first attempt takes it, the retry finds the bucket empty.
  const second = await call(`${s.url}/retrying/x`)
  expect(failing.seen.length).toBe(4)
  expect(second.status).toBe(429)
  expect(second.headers['x-sluice-error']).toBe('rate_limited')

  // Nothing left at all: refused before any attempt.
  const third = await call(`${s.url}/retrying/x`)
  expect(third.status).toBe(429)
  expect(failing.seen.length).toBe(4)
})
