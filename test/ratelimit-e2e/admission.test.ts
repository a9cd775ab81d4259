// Exact admission through one sluice (SPEC sections 3 and 4): a bucket of N
// with onLimit reject lets exactly N calls of a burst through, answers the rest
// 429 rate_limited with a truthful Retry-After, and the vendor sees exactly N.
// In memory (no Redis configured) and in Redis.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startRedis, type RedisHandle } from '../helpers/redis.js'
import { startUpstream, type Upstream } from '../helpers/upstream.js'
import { burst, call, countStatus, rateLimitedPolicy, startStoreSluice, STORES } from './harness.js'
import { sleep } from '../helpers/wait.js'

const CAPACITY = 8
const BURST = 20
// One token every 2 s: the burst itself refills nothing worth a call.
const BUCKET = `
buckets:
  - name: burst
    capacity: ${CAPACITY}
    refill: 30/min
    onLimit: reject
`

let redis: RedisHandle

beforeAll(async () => { redis = await startRedis() })
afterAll(async () => { await redis.stop() })

describe.each(STORES)('one sluice, $store buckets', ({ store }) => {
  let upstream: Upstream

  beforeAll(async () => { upstream = await startUpstream() })
  afterAll(async () => { await upstream.close() })

  it(`admits exactly ${CAPACITY} of a burst of ${BURST}; the rest get 429 rate_limited`, async () => {
    const s = await startStoreSluice({ 'acme.yaml': rateLimitedPolicy(`exact-${store}`, upstream.url, BUCKET) }, store, redis)
    try {
      const results = await burst(`${s.url}/exact-${store}/v1/thing`, BURST)
      expect(countStatus(results, 200)).toBe(CAPACITY)
      expect(countStatus(results, 429)).toBe(BURST - CAPACITY)
      expect(upstream.seen.length).toBe(CAPACITY)

      const refused = results.find(r => r.status === 429)!
      expect(refused.headers['x-sluice-error']).toBe('rate_limited')
      expect(refused.headers['content-type']).toMatch(/^application\/json/)
      expect(JSON.parse(refused.body)).toMatchObject({
        error: 'rate_limited',
        vendor: `exact-${store}`,
        message: expect.any(String),
        requestId: refused.headers['x-request-id'],
      })
      // The next token is due in at most 2 s.
      const retryAfter = refused.headers['retry-after']
      expect(retryAfter).toMatch(/^\d+$/)
      expect(Number(retryAfter)).toBeGreaterThanOrEqual(1)
      expect(Number(retryAfter)).toBeLessThanOrEqual(2)

      // Truthful: a call made after Retry-After seconds is served.
      const last = results.filter(r => r.status === 429).map(r => Number(r.headers['retry-after']))
      await sleep(Math.max(...last) * 1000 + 50)
      const again = await call(`${s.url}/exact-${store}/v1/thing`)
      expect(again.status).toBe(200)
      expect(upstream.seen.length).toBe(CAPACITY + 1)
    } finally {
      await s.stop()
    }
  })
})
