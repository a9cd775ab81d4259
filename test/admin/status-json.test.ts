// GET /status.json, the status page's data: bucket levels read from Redis
// when the buckets live there (a keyed bucket: its lowest key and how many),
// credentials that cannot be had named by reference, and the last reload
// with its result and problems.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { request } from 'undici'
import { startUpstream, type Upstream } from '../helpers/upstream.js'
import { startTestSluice, type TestSluice } from '../helpers/sluice.js'
import { startRedis, type RedisHandle } from '../helpers/redis.js'
import { startRedisSluice } from '../ratelimit-e2e/harness.js'

interface Status {
  lastReload: { result: string, problems: string[] } | null
  redis: { configured: boolean, up: boolean }
  vendors: Array<{ name: string, buckets: Array<{ bucket: string, capacity: number, tokens: number | null, keys: number | null }>, credentials: { available: boolean, unavailable: string[] } }>
}

async function status (s: TestSluice): Promise<Status> {
  return await (await request(`${s.adminUrl}/status.json`)).body.json() as Status
}

async function call (s: TestSluice, vendor: string): Promise<number> {
  const res = await request(`${s.url}/${vendor}/x`, { headers: { 'x-tenant': 't1' } })
  await res.body.text()
  return res.statusCode
}

let up: Upstream
let redis: RedisHandle

beforeAll(async () => {
  up = await startUpstream()
  redis = await startRedis()
})
afterAll(async () => {
  await up.close()
  await redis.stop()
})

describe('with the buckets in Redis', () => {
  let s: TestSluice
  beforeAll(async () => {
    s = await startRedisSluice({
      'shared.yaml': `vendor: shared\nupstream: ${up.url}\nrateLimit:\n  buckets:\n    - name: all\n      capacity: 5\n      refill: 1/min\n      onLimit: reject\n    - name: tenant\n      key: "header:x-tenant"\n      capacity: 50\n      refill: 1/min\n      onLimit: reject\n`,
    }, redis)
  })
  afterAll(async () => { await s?.stop() })

  it('reads the buckets\' levels from Redis: the vendor-wide one, and the lowest key of a keyed one', async () => {
    expect((await status(s)).vendors[0]?.buckets).toEqual([
      { bucket: 'all', capacity: 5, tokens: 5, keys: null },
      { bucket: 'tenant', capacity: 50, tokens: 50, keys: 0 },
    ])
    for (let i = 0; i < 3; i++) expect(await call(s, 'shared')).toBe(200)
    const st = await status(s)
    expect(st.redis).toEqual({ configured: true, up: true })
    const [all, tenant] = st.vendors[0]?.buckets ?? []
    expect(all?.tokens).toBeGreaterThanOrEqual(2)
    expect(all?.tokens).toBeLessThan(3)
    expect(tenant?.keys).toBe(1)
    expect(tenant?.tokens).toBeGreaterThanOrEqual(47)
    expect(tenant?.tokens).toBeLessThan(48)
  })
})

describe('credentials and reloads', () => {
  let s: TestSluice
  beforeAll(async () => {
    delete process.env.STATUS_NEVER_SET
    s = await startTestSluice({
      'locked.yaml': `vendor: locked\nupstream: ${up.url}\ninject:\n  headers:\n    X-Key: "\${env:STATUS_NEVER_SET}"\n`,
    })
  })
  afterAll(async () => { await s?.stop() })

  it('names the credential reference that cannot be had', async () => {
    expect((await status(s)).vendors[0]?.credentials).toEqual({ available: false, unavailable: ['${env:STATUS_NEVER_SET}'] })
  })

  it('shows no reload before the first, then each reload\'s result and problems', async () => {
    expect((await status(s)).lastReload).toBeNull()
    await writeFile(join(s.dir, 'broken.yaml'), 'vendor: broken\nupstream: 42\n')
    expect(await s.sluice.reload()).toBe(false)
    const failed = (await status(s)).lastReload
    expect(failed?.result).toBe('failure')
    expect(failed?.problems.join('\n')).toContain('broken.yaml')
    await writeFile(join(s.dir, 'broken.yaml'), `vendor: broken\nupstream: ${up.url}\n`)
    expect(await s.sluice.reload()).toBe(true)
    expect((await status(s)).lastReload).toMatchObject({ result: 'success', problems: [] })
  })
})
