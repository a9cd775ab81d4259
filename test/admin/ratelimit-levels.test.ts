// GET /ratelimit on the admin listener, in memory and in Redis: each vendor's
// buckets with level, capacity and refill; a keyed bucket as a count of keys
// and its lowest levels, the key values hashed (never the raw tenant value).
import { createHash } from 'node:crypto'
import { request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startRedis, type RedisHandle } from '../helpers/redis.js'
import type { TestSluice } from '../helpers/sluice.js'
import { startUpstream, type Upstream } from '../helpers/upstream.js'
import { STORES, call, rateLimitedPolicy, startStoreSluice } from '../ratelimit-e2e/harness.js'

const hash = (v: string): string => createHash('sha256').update(v).digest('hex').slice(0, 16)

describe.each(STORES)('with the buckets in $store', ({ store }) => {
  let redis: RedisHandle
  let up: Upstream
  let s: TestSluice

  beforeAll(async () => {
    redis = await startRedis()
    up = await startUpstream()
    s = await startStoreSluice({
      'levels.yaml': rateLimitedPolicy('levels', up.url, `
buckets:
  - name: vendor-wide
    capacity: 10
    refill: 10/day
  - name: tenant
    capacity: 5
    refill: 5/day
    key: header:x-tenant
`),
      'idle.yaml': rateLimitedPolicy('idle', up.url, `
buckets:
  - name: daily
    capacity: 100
    refill: 100/day
`),
    }, store, redis)
  })
  afterAll(async () => {
    await s?.stop()
    await up?.close()
    await redis?.stop()
  })

  it('shows each bucket\'s level, capacity and refill, keyed ones by hashed key', async () => {
    for (const tenant of ['tenant-alpha-secret', 'tenant-alpha-secret', 'tenant-beta-secret']) {
      expect((await call(`${s.url}/levels/x`, { 'x-tenant': tenant })).status).toBe(200)
    }
    const res = await request(`${s.adminUrl}/ratelimit`)
    const text = await res.body.text()
    expect(res.statusCode).toBe(200)
    expect(text).not.toContain('tenant-alpha-secret')
    const body = JSON.parse(text) as { vendors: Array<{ vendor: string, store: string, buckets: unknown[] }> }
    const levels = body.vendors.find(v => v.vendor === 'levels')
    expect(levels?.store).toBe(store)
    expect(levels?.buckets).toEqual([
      { name: 'vendor-wide', capacity: 10, refill: '10/day', key: 'vendor', level: 7 },
      {
        name: 'tenant',
        capacity: 5,
        refill: '5/day',
        key: 'header:x-tenant',
        keys: 2,
        lowest: [{ key: hash('tenant-alpha-secret'), level: 3 }, { key: hash('tenant-beta-secret'), level: 4 }],
      },
    ])
    // A bucket nobody drew on is full.
    expect(body.vendors.find(v => v.vendor === 'idle')?.buckets).toEqual([{ name: 'daily', capacity: 100, refill: '100/day', key: 'vendor', level: 100 }])
  })
})
