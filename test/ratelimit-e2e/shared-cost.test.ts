// One cost limit across replicas: two, then three sluice processes sharing one
// real Redis reserve estimates and settle actual costs against one bucket, and
// together spend what it holds (within 5 %), not a multiple of it. The refill
// is so slow that the count is exact, not a rate that depends on speed.
import { request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startRedis, type RedisHandle } from '../helpers/redis.js'
import type { TestSluice } from '../helpers/sluice.js'
import { startUpstream, type Upstream } from '../helpers/upstream.js'
import { rateLimitedPolicy, startRedisSluice } from './harness.js'

const CAPACITY = 100_000
const ESTIMATE = 1000
const ACTUAL = 500
const WORKERS_PER_SLUICE = 2

let redis: RedisHandle
let upstream: Upstream

beforeAll(async () => {
  redis = await startRedis()
  upstream = await startUpstream((_req, res) => {
    res.setHeader('content-type', 'application/json')
    res.end(JSON.stringify({ usage: { total_tokens: ACTUAL } }))
  })
})
afterAll(async () => {
  await upstream?.close()
  await redis?.stop()
})

describe.each([{ replicas: 2 }, { replicas: 3 }])('$replicas sluices sharing one Redis', ({ replicas }) => {
  const sluices: TestSluice[] = []
  const vendor = `shared-cost-${replicas}`

  beforeAll(async () => {
    const policy = rateLimitedPolicy(vendor, upstream.url, `
buckets:
  - name: tokens
    capacity: ${CAPACITY}
    refill: ${CAPACITY}/day
    onLimit: reject
    cost:
      request: json:max_tokens
      response: json:usage.total_tokens
`)
    for (let i = 0; i < replicas; i++) sluices.push(await startRedisSluice({ [`${vendor}.yaml`]: policy }, redis, { logLevel: 'warn' }))
  })
  afterAll(async () => {
    await Promise.all(sluices.map(s => s.stop()))
  })

  it('spend one bucket between them, within 5 %', async () => {
    const started = performance.now()
    let admitted = 0
    const perSluice = sluices.map(() => 0)
    // Each worker calls until it is refused: the bucket then holds less than one estimate.
    const worker = async (i: number): Promise<void> => {
      const s = sluices[i] as TestSluice
      for (;;) {
        const res = await request(`${s.url}/${vendor}/v1/chat/completions`, {
          method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ max_tokens: ESTIMATE }),
        })
        await res.body.dump()
        if (res.statusCode === 429) return
        if (res.statusCode !== 200) throw new Error(`unexpected status ${res.statusCode}`)
        admitted++
        perSluice[i]!++
      }
    }
    await Promise.all(sluices.flatMap((_s, i) => Array.from({ length: WORKERS_PER_SLUICE }, () => worker(i))))
    const elapsedDays = (performance.now() - started) / 86_400_000
    const spent = admitted * ACTUAL
    // Every replica took part.
    for (const n of perSluice) expect(n).toBeGreaterThan(0)
    // Never more than the bucket gave (its capacity and the little it refilled meanwhile) ...
    expect(spent).toBeLessThanOrEqual(CAPACITY + CAPACITY * elapsedDays + 1)
    // ... and not much less: workers stop once less than an estimate is left.
    expect(spent).toBeGreaterThanOrEqual(CAPACITY * 0.95)
  })
})
