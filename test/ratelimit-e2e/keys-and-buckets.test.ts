// Per-key buckets and several buckets per vendor through a real sluice (SPEC
// section 4): each x-tenant value has a bucket of its own, and a call needs a
// token from every bucket, a refusal by one taking nothing from the others.
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { redisCli } from '../helpers/binaries.js'
import { startRedis, type RedisHandle } from '../helpers/redis.js'
import { startUpstream, type Upstream } from '../helpers/upstream.js'
import { burst, countStatus, metric, rateLimitedPolicy, startStoreSluice, STORES } from './harness.js'
import { sleep } from '../helpers/wait.js'

const execFileP = promisify(execFile)

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

describe.each(STORES)('$store buckets', ({ store }) => {
  it('keys a bucket by header: each tenant, and the calls without the header, get their own', async () => {
    const vendor = `tenants-${store}`
    const s = await startStoreSluice({
      't.yaml': rateLimitedPolicy(vendor, upstream.url, `
buckets:
  - name: per-tenant
    capacity: 3
    refill: 1/min
    key: header:x-tenant
    onLimit: reject
`),
    }, store, redis)
    try {
      const url = `${s.url}/${vendor}/t`
      const a = await burst(url, 6, { 'x-tenant': 'tenant-a-sk_live_0123456789abcdef' })
      const b = await burst(url, 6, { 'x-tenant': 'tenant-b' })
      const none = await burst(url, 6)
      expect([a, b, none].map(r => countStatus(r, 200))).toEqual([3, 3, 3])
      // Tenant A's bucket is still empty after the others took theirs.
      expect(countStatus(await burst(url, 2, { 'x-tenant': 'tenant-a-sk_live_0123456789abcdef' }), 429)).toBe(2)

      if (store === 'redis') {
        const keys = (await execFileP(redisCli(), ['-p', String(redis.port), '--scan', '--pattern', `sluice:{${vendor}}:*`])).stdout.trim().split('\n')
        expect(keys.length).toBe(3)
        // The header value may be a credential: only a hash of it names the key.
        expect(keys.join(' ')).not.toContain('tenant-a')
        expect(keys.join(' ')).not.toContain('sk_live')
      }
    } finally {
      await s.stop()
    }
  })

  it('takes a token from every bucket; a refusal by one takes nothing from the other', async () => {
    const vendor = `two-buckets-${store}`
    const s = await startStoreSluice({
      'two.yaml': rateLimitedPolicy(vendor, upstream.url, `
buckets:
  - name: burst
    capacity: 2
    refill: 10/s
    onLimit: reject
  - name: quota
    capacity: 5
    refill: 1/min
    onLimit: reject
`),
    }, store, redis)
    try {
      const url = `${s.url}/${vendor}/x`
      upstream.seen.length = 0
      // The burst bucket refuses 4 of 6; had those refusals cost quota tokens,
      // the quota (5) would be gone after the first round.
      const first = await burst(url, 6)
      expect(countStatus(first, 200)).toBe(2)
      const burstRefusal = first.find(r => r.status === 429)!
      expect(JSON.parse(burstRefusal.body).message).toContain('bucket burst')
      expect(Number(burstRefusal.headers['retry-after'])).toBe(1)

      await sleep(250) // the burst bucket is full again
      expect(countStatus(await burst(url, 2), 200)).toBe(2)
      await sleep(250)
      const last = await burst(url, 2)
      expect(countStatus(last, 200)).toBe(1)
      const quotaRefusal = last.find(r => r.status === 429)!
      expect(JSON.parse(quotaRefusal.body).message).toContain('bucket quota')
      // The quota's next token is about a minute away, and Retry-After says so.
      expect(Number(quotaRefusal.headers['retry-after'])).toBeGreaterThan(50)
      expect(Number(quotaRefusal.headers['retry-after'])).toBeLessThanOrEqual(60)
      expect(upstream.seen.length).toBe(5)

      expect(await metric(s, 'sluice_ratelimit_decisions_total', { vendor, bucket: 'burst', decision: 'rejected' })).toBe(4)
      expect(await metric(s, 'sluice_ratelimit_decisions_total', { vendor, bucket: 'quota', decision: 'rejected' })).toBe(1)
      expect(await metric(s, 'sluice_ratelimit_decisions_total', { vendor, bucket: 'quota', decision: 'allowed' })).toBe(5)
    } finally {
      await s.stop()
    }
  })
})
