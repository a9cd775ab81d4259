// Vendor truth (rateLimit.upstream.sync): when the vendor's remaining count is
// below what the shared bucket holds, the bucket is lowered to it, and a
// second replica sharing the Redis sees the lowered level; a higher count
// never raises it. In memory the one replica sees it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startRedis, type RedisHandle } from '../helpers/redis.js'
import type { TestSluice } from '../helpers/sluice.js'
import { startUpstream, type Upstream } from '../helpers/upstream.js'
import { STORES, call, rateLimitedPolicy, startStoreSluice } from './harness.js'

const POLICY = `
buckets:
  - name: requests
    capacity: 100
    refill: 100/day
    onLimit: reject
upstream:
  remainingHeader: x-ratelimit-remaining
  sync: requests
`

describe.each(STORES)('with the buckets in $store', ({ store }) => {
  let redis: RedisHandle
  let up: Upstream
  let a: TestSluice
  let b: TestSluice

  beforeAll(async () => {
    redis = await startRedis()
    // The upstream says what the client asks it to say.
    up = await startUpstream((req, res) => {
      const remaining = req.headers['x-say-remaining']
      if (typeof remaining === 'string') res.setHeader('x-ratelimit-remaining', remaining)
      res.end('ok')
    })
    const files = { 'synced.yaml': rateLimitedPolicy('synced', up.url, POLICY) }
    a = await startStoreSluice(files, store, redis)
    // In memory there is no second replica to share with: the same one checks.
    b = store === 'redis' ? await startStoreSluice(files, store, redis) : a
  })
  afterAll(async () => {
    await a?.stop()
    if (b !== a) await b?.stop()
    await up?.close()
    await redis?.stop()
  })

  it('lowers the bucket to the vendor\'s remaining count for every replica, and never raises it', async () => {
    expect((await call(`${a.url}/synced/x`, { 'x-say-remaining': '3' })).status).toBe(200)
    // A higher count does not raise the bucket (now 2).
    expect((await call(`${a.url}/synced/x`, { 'x-say-remaining': '50' })).status).toBe(200)
    const statuses = []
    for (let i = 0; i < 3; i++) statuses.push((await call(`${b.url}/synced/x`)).status)
    expect(statuses).toEqual([200, 200, 429])
  })
})
