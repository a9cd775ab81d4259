// mode: shadow through a real sluice (SPEC section 4): buckets decide and count,
// the log line says wouldLimit, and no call is delayed or refused.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startRedis, type RedisHandle } from '../helpers/redis.js'
import { requestLines } from '../helpers/sluice.js'
import { startUpstream, type Upstream } from '../helpers/upstream.js'
import { burst, countStatus, metric, rateLimitedPolicy, startStoreSluice, STORES } from './harness.js'
import { eventually } from '../helpers/wait.js'

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

describe.each(STORES)('$store buckets in shadow mode', ({ store }) => {
  it.each(['reject', 'queue'])('onLimit %s: serves every call at once and logs wouldLimit', async (onLimit) => {
    const vendor = `shadow-${onLimit}-${store}`
    const s = await startStoreSluice({
      's.yaml': rateLimitedPolicy(vendor, upstream.url, `
mode: shadow
buckets:
  - name: burst
    capacity: 2
    refill: 2/s
    onLimit: ${onLimit}
    maxWait: 10s
`),
    }, store, redis)
    try {
      const before = upstream.seen.length
      const results = await burst(`${s.url}/${vendor}/x`, 8)
      expect(countStatus(results, 200)).toBe(8)
      expect(upstream.seen.length - before).toBe(8)
      // A queue in enforce mode would have held the last call ~3 s.
      for (const r of results) expect(r.ms).toBeLessThan(1000)

      await eventually(() => requestLines(s).length === 8)
      const lines = requestLines(s)
      expect(lines.filter(l => l.wouldLimit === true).length).toBe(6)
      for (const l of lines) {
        expect(l.status).toBe(200)
        expect(l.waitMs).toBe(0)
        expect(l.error).toBeUndefined()
      }
      const counted = onLimit === 'reject' ? 'rejected' : 'queued'
      expect(await metric(s, 'sluice_ratelimit_decisions_total', { vendor, bucket: 'burst', decision: 'allowed' })).toBe(2)
      expect(await metric(s, 'sluice_ratelimit_decisions_total', { vendor, bucket: 'burst', decision: counted })).toBe(6)
    } finally {
      await s.stop()
    }
  })
})
